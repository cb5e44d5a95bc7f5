"""Reading JSON / YAML spec files with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from flopgrid.errors import UserInputError


def read_mapping(path: Path, what: str = "file") -> dict:
    """Parse a JSON or YAML file that must hold a mapping (`what` names it in errors)."""
    from flopgrid.files import read_input_text

    path = Path(path)
    text = read_input_text(path, what)
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except RecursionError:
        raise UserInputError(f"{path} is nested too deeply to be a flopgrid file") from None
    except (json.JSONDecodeError, ValueError) as exc:  # yaml.YAMLError subclasses Exception only
        raise UserInputError(f"{path} is not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # noqa: BLE001 - yaml errors
        raise UserInputError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UserInputError(f"{path} must hold a JSON/YAML object (a mapping of fields), got {type(data).__name__}")
    return data


def format_validation_error(exc: ValidationError) -> str:
    """The first pydantic error as 'field: message'."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = err.get("msg", "invalid")
    if err.get("type") == "value_error":
        msg = msg.removeprefix("Value error, ")
        return f"{loc}: {msg}" if loc else msg
    loc = loc or "spec"
    if err.get("type") == "missing":
        return f"missing required field {loc!r}"
    return f"field {loc!r}: {msg} (got {err.get('input')!r})" if "input" in err and err.get("type") != "value_error" else f"{loc}: {msg}"
