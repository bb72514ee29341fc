"""dsgen: turn articles into validated fine-tuning and evaluation datasets."""

__version__ = "0.1.0"
