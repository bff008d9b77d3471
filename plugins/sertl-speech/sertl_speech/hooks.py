"""Registration of sertl-speech's classes through the sertl hooks."""

from sertl_core import hookimpl  # noqa: F401
