"""Click-guided (interactive) segmentation: prompts, guidance channels, the session, evaluation."""

from tumorseg.interactive.prompts import Box, Click, Prompts

__all__ = ["Box", "Click", "Prompts"]
