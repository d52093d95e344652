"""The gridcore version, recorded on every run so results can be traced to the code."""

GRIDCORE_VERSION = "0.1.0"
