"""The checks that grade ConvolutionalFilter and train, shared by every grading channel."""
