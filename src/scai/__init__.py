"""scai: a toolkit for alignment research by simulation."""

__version__ = "0.1.0"

from scai.errors import ConfigError, ModelError, ParseFailure, ScaiError, StoreError

__all__ = ["ConfigError", "ModelError", "ParseFailure", "ScaiError", "StoreError", "__version__"]
