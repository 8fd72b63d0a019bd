"""The sandbox's fork server: `python -m lab2a.autograder.sandbox.zygote --control FD`.

Importing torch and warming it up takes seconds; forking a process that has done it takes
milliseconds. So the grader starts this process once (grading/fork_server.py), it prepares what every
worker needs (worker.prepare: torch and the sandbox's modules, nothing of the grader's), and then, for
each request on its control socket, forks a worker:

  request: {"folder", "memory", "max_message", "protect", "user", "threads"} with five file descriptors
           (SCM_RIGHTS): the worker's requests pipe, its results pipe, where its prints go, a status pipe, and
           the memory the grader shares with it (sandbox/shared.py), mapped in the worker first thing
  answer:  {"pid": pid} with a pidfd of the worker, so the grader can kill it without a race

The worker starts in its folder, in a session of its own, in a pids cgroup of its own that lets it have at
most `threads` tasks where this machine lets this process make one (tasks.py), as the request's
unprivileged user if the grader runs as root and names one (then it owns its folder), with every other
descriptor of this process closed (this socket among them: a worker can't ask for more processes), then confines itself
and serves the grader (worker.serve). When it ends, this process reaps it and writes how it ended
("exit 3", "signal 9") to its status pipe. When the grader goes away (end of file on the socket),
this process kills every worker it started, removes their folders and its own (a grader killed
outright can't), and exits.
"""

import argparse
import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile


def _open_descriptors() -> list[int]:
    for listing in ("/proc/self/fd", "/dev/fd"):
        try:
            return [int(name) for name in os.listdir(listing)]
        except (OSError, ValueError):
            continue
    return list(range(3, 1024))


def _child(spec: dict, fds: list, control: socket.socket, pids) -> None:
    requests, results, output, status, region = fds
    try:
        os.setsid()
        from lab2a.autograder.sandbox import shared
        shared.attach(region)  # mapped before anything else runs here; its descriptor closed
        # the grader's limit itself: a thread past it fails to start, in the statement that starts it (which
        # the rest of the grade doesn't pay for); the grader's poll, its second line, never sees the limit passed
        bounded = pids is not None and pids.enter(int(spec.get("threads", 64)))
        os.dup2(output, 1)
        os.dup2(output, 2)
        control.detach()  # closed below with the rest: a worker can't ask this server for processes
        for fd in _open_descriptors():
            if fd > 2 and fd not in (requests, results):
                try:
                    os.close(fd)
                except OSError:
                    pass
        folder = spec["folder"]
        os.chdir(folder)
        if spec.get("user"):  # a root grader: the student's code runs as this account (it owns the folder)
            _, uid, gid = spec["user"]
            os.chown(folder, uid, gid)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        os.environ.update({"HOME": folder, "TMPDIR": folder, "MPLCONFIGDIR": os.path.join(folder, ".matplotlib")})
        tempfile.tempdir = None
        from lab2a.autograder.sandbox.worker import serve
        serve(requests, results, spec["memory"], spec["max_message"], spec.get("protect", []),
              tasks=("cgroup", int(spec.get("threads", 64))) if bounded else None)
    except BaseException:  # the grader reports exit 70; the cause goes where the worker's output goes
        import traceback
        traceback.print_exc()
    finally:
        os._exit(70)


def _reap(statuses: dict, pids) -> None:
    while statuses:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = statuses.pop(pid, None)
        if pids is not None:
            pids.remove(pid)
        if fd is not None:
            how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                   else f"exit {os.waitstatus_to_exitcode(status)}")
            try:
                os.write(fd, how.encode())
            except OSError:
                pass
            os.close(fd)


def main(argv=None) -> None:
    options = argparse.ArgumentParser(prog="python -m lab2a.autograder.sandbox.zygote")
    options.add_argument("--control", type=int, required=True, help="the grader's control socket")
    args = options.parse_args(argv)
    from lab2a.autograder.sandbox import shared  # noqa: F401 (imported once, before any worker is forked)
    from lab2a.autograder.sandbox.tasks import Pids
    from lab2a.autograder.sandbox.worker import prepare

    prepare()
    # what prepare() made (torch, numpy, the sandbox's modules) is moved out of the collector's generations:
    # each worker's collections (one at the end of every cell) then look at the student's objects only
    # (0.13 s -> milliseconds), and forked workers don't touch, so copy, those pages to collect them
    gc.freeze()
    pids = Pids.create()
    control = socket.socket(fileno=args.control)
    control.sendall(b'{"ready": true}\n')
    statuses = {}   # pid -> status pipe
    ended = set()   # the workers' pidfds (Linux): one is readable when its worker has ended, reaped at once
    own = os.getcwd()
    folders = [own] if os.path.basename(own).startswith("lab2a-zygote-") else []  # removed at the end
    try:
        while True:
            # Woken by a worker's end (its pidfd) as by a request: the grader waits for a worker's status
            # before it removes the worker's folder, and 0.2 s of polling per worker cost a third of a grade.
            ready, _, _ = select.select([control, *ended], [], [], 1.0 if ended or statuses else 0.2)
            for fd in ended.intersection(ready):
                ended.discard(fd)
                os.close(fd)
            _reap(statuses, pids)
            if control not in ready:
                continue
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 5)
            if not message:
                break
            spec = json.loads(message)
            if os.path.basename(spec["folder"]).startswith("lab2a-grade-"):
                folders.append(spec["folder"])
            if len(fds) != 5:
                for fd in fds:
                    os.close(fd)
                control.sendall(b'{"pid": 0}\n')
                continue
            pid = os.fork()
            if pid == 0:
                _child(spec, fds, control, pids)
            answer = json.dumps({"pid": pid}).encode() + b"\n"
            if hasattr(os, "pidfd_open"):  # Linux: the grader kills through it, never a reused pid
                pidfd = os.pidfd_open(pid)
                socket.send_fds(control, [answer], [pidfd])
                ended.add(pidfd)   # kept here too: it wakes this loop when the worker ends
            else:
                control.sendall(answer)
            for fd in (*fds[:3], fds[4]):
                os.close(fd)
            statuses[pid] = fds[3]
    except (OSError, ValueError):
        pass
    finally:
        for pid in list(statuses):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in list(statuses):
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
        if pids is not None:
            pids.close()
        sys.stdout.flush()
        # On a normal end the grader has removed them all already; killed, it could not. This process's
        # working folder is its own (grading/fork_server.py made it). The system's rm descends any depth.
        try:
            subprocess.run(["rm", "-rf", "--", *folders], capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            pass
        os._exit(0)


if __name__ == "__main__":
    main()
