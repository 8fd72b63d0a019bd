"""The `lab2a` command: one subcommand per job, each a thin shell over the part that does it."""

import argparse
import json
import sys
from pathlib import Path


def _data(args) -> int:
    from lab2a import data

    out = Path(args.out) if args.out else data.default_path()
    card = data.build(out, preset=args.preset, clips=args.clips, seed=args.seed,
                      progress=False if args.quiet else None)
    ls = card["least_squares_filter"]
    print(f"wrote {out} ({card['bytes'] / 1e6:.0f} MB, sha256 {card['sha256'][:12]}...)")
    print(f"  {card['clips']} clips, preset {card['preset']}, seed {card['seed']}; "
          f"SNR {card['snr_db']['min']:.1f} to {card['snr_db']['max']:.1f} dB; "
          f"speech RMS {card['speech_rms']['median']:.2e}")
    for taps, scores in ls.items():
        test = scores["test"]
        print(f"  least-squares {taps}-tap filter on the test clips: MSE {test['mse']:.3g}, "
              f"SNR {test['snr_in_db']:.1f} -> {test['snr_out_db']:.1f} dB")
    print(f"  data card {data.card_path(out)}, examples in {data.examples_dir(out)}/")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"need at least 2 clips (a train and a test clip), got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    from lab2a.data import PRESETS

    top = argparse.ArgumentParser(prog="lab2a", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="build the lab's dataset (deterministic, offline)",
                               description="Build the lab's dataset with its data card and WAV examples.")
    data.add_argument("--out", help="the file to write (default: data/data_lab_2A.pt, where the notebook looks; "
                                    "or $LAB2A_DATA)")
    data.add_argument("--preset", choices=list(PRESETS), default="course",
                      help="course: the course's statistics (default); realistic: mixed everyday noise")
    data.add_argument("--clips", type=_positive, default=1500, help="number of (noisy, clean) pairs (default 1500)")
    data.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same bytes")
    data.add_argument("--quiet", action="store_true", help="no progress bar")
    data.set_defaults(run=_data)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
