"""One exception family for mistakes a user can fix.

The CLI prints these as a single line and exits non-zero; anything else is a bug
and keeps its traceback.
"""


class GansynthLiveError(Exception):
    """A user-facing error: says what failed, where, and what to do."""


class ModelLoadError(GansynthLiveError):
    """A model folder or checkpoint cannot be read or is not supported."""


class DownloadError(GansynthLiveError):
    """Fetching or unpacking a released model failed."""
