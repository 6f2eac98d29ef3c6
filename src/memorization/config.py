"""Turning a schema violation into one line that names the offending config key."""

from __future__ import annotations


def _key_path(error) -> str:
    parts = []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}" if parts else str(part))
    return "".join(parts) or "<top level>"


def describe_validation_error(error: BaseException) -> str:
    """One line for a jsonschema ValidationError, found in ``error`` or in what it wraps."""
    seen = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if hasattr(current, "absolute_path") and hasattr(current, "message"):
            best = current
            # Errors under anyOf/oneOf hold the specific reasons in their context.
            if getattr(current, "context", None):
                best = max(current.context, key=lambda sub: len(sub.absolute_path))
            message = best.message
            if best.validator == "additionalProperties":
                return f"invalid config: unknown key under {_key_path(best)}: {message}"
            return f"invalid config: key {_key_path(best)}: {message}"
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return f"invalid config: {error}".splitlines()[0]


def schema_validator(schema_path, validator_class=None):
    """A Draft 2020-12 validator for the workflow schema, resolving ``$ref`` beside the file.

    ``validator_class`` (an extension of Draft 2020-12) is used for the referenced schemas too:
    their ``$schema`` keys are dropped, since jsonschema would otherwise pick the plain class
    for each of them.
    """
    from pathlib import Path

    import jsonschema
    import yaml
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    validator_class = validator_class or jsonschema.Draft202012Validator
    schema_path = Path(schema_path).resolve()

    def load(path):
        contents = yaml.safe_load(path.read_text())
        contents.pop("$schema", None)
        return contents

    def retrieve(uri):
        return Resource.from_contents(load(schema_path.parent / uri.rsplit("/", 1)[-1]), default_specification=DRAFT202012)

    schema = load(schema_path)
    schema["$id"] = schema_path.as_uri()
    return validator_class(schema, registry=Registry(retrieve=retrieve))


def check_config_file(config_path, schema_path) -> None:
    """Raise ConfigError with one line naming the first bad key of a config file."""
    import jsonschema
    import yaml

    from memorization.errors import ConfigError

    with open(config_path) as stream:
        config = yaml.safe_load(stream)
    try:
        schema_validator(schema_path).validate(config)
    except jsonschema.ValidationError as error:
        raise ConfigError(f"{config_path}: {describe_validation_error(error)}") from None


# Hex digits of the settings digest that ends every run and model key.
KEY_DIGEST_LENGTH = 8


def settings_digest(settings, length: int = KEY_DIGEST_LENGTH) -> str:
    """A short hash of every setting in ``settings``, the end of a run or model key.

    Mapping keys are sorted first, so YAML key order never changes it; list order does (it is
    part of the setting). Any changed value, added or removed key changes the digest, so a
    readable key prefix cannot leave a setting out.
    """
    import hashlib
    import json

    payload = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:length]


def canonical(value):
    """``value`` with every mapping's keys in sorted order (lists keep their order)."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def _filling_validator_class():
    """Draft 2020-12 validation that also writes each property's schema default into the
    instance where the key is missing, through ``$ref``'d schemas too (Snakemake's own
    ``validate(set_default=True)`` does not descend into them)."""
    import copy

    import jsonschema

    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]

    def properties_with_defaults(validator, properties, instance, schema):
        if validator.is_type(instance, "object"):
            for name, subschema in properties.items():
                if name in instance or not isinstance(subschema, dict):
                    continue
                if "default" not in subschema and "$ref" in subschema:
                    subschema = validator._resolver.lookup(subschema["$ref"]).contents
                if "default" in subschema:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from check_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(base, {"properties": properties_with_defaults})


def fill_defaults(config: dict, schema_path) -> dict:
    """Validate ``config`` against the workflow schema, filling in every default in place.

    Raises `ConfigError` with one line naming the first offending key. Afterwards every setting
    the schema describes is present, so no code needs a second copy of a default.
    """
    import jsonschema

    from memorization.errors import ConfigError

    validator = schema_validator(schema_path, _filling_validator_class())
    try:
        validator.validate(config)
    except jsonschema.ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
    return config
