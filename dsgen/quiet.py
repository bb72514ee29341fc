"""Quiet libraries: the progress bars transformers, tqdm and the Hub draw on their own."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """No progress bars from the libraries while the block runs (``dsgen build --quiet``):
    transformers draws one while it loads a model ("Loading weights") and a plain tqdm
    one while it converts a GGUF file (the embedded model's first use); the Hub's switch
    also covers its own bars.

    tqdm reads ``TQDM_DISABLE`` when it is first imported (in a fresh process, by the Hub's
    import here), and transformers reads the Hub's switch when it is imported, once the
    model loads. Everything is put back afterwards, for callers in a longer-lived process;
    where tqdm was imported before, a GGUF conversion still draws its bar.
    """
    tqdm_env = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"  # before the Hub's import below imports tqdm
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    hub_was_off, transformers_was_on = are_progress_bars_disabled(), _transformers_bars(None)
    disable_progress_bars()
    _transformers_bars(False)
    try:
        yield
    finally:
        if tqdm_env is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = tqdm_env
        if not hub_was_off:
            enable_progress_bars()
        # Imported inside the block, transformers took the Hub's switch as it was before.
        _transformers_bars(not hub_was_off if transformers_was_on is None else transformers_was_on)


def _transformers_bars(on: bool | None) -> bool | None:
    """Set transformers' progress bars on or off (``None``: leave them); returns whether they
    were on, or ``None`` when transformers is not imported."""
    if "transformers" not in sys.modules:
        return None
    from transformers.utils import logging as transformers_logging

    was_on = transformers_logging.is_progress_bar_enabled()
    if on is True:
        transformers_logging.enable_progress_bar()
    elif on is False:
        transformers_logging.disable_progress_bar()
    return was_on
