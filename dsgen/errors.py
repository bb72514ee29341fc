"""Exception hierarchy: every error a user can cause is a ``DsgenError``.

The CLI turns any ``DsgenError`` into one line (``click.ClickException``); anything
else is a bug and keeps its traceback.
"""


class DsgenError(Exception):
    """Root of every error dsgen raises on purpose."""


class ConfigError(DsgenError):
    """A build option or configuration value is invalid."""


class CorpusError(DsgenError):
    """The seeds folder or an input file cannot be used."""


class TemplateError(DsgenError):
    """A template file is missing, malformed or fails to render."""


class BackendError(DsgenError):
    """A model backend cannot be loaded or does not answer."""


class ValidationFailed(DsgenError):
    """A built dataset breaks one or more validation rules."""


class PushError(DsgenError):
    """Uploading the dataset to the Hugging Face Hub failed."""


class RegistryError(DsgenError):
    """An unknown or duplicate name was used with a registry."""
