from .vidt import ViDT  # noqa: F401
