"""phenomena: deep-learning claims decided from data, many seeds at once, with verdicts."""

__version__ = "0.1.0"
