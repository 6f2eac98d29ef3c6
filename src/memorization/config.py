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


def read_config_file(config_path) -> dict:
    """The mapping in a YAML config file, read strictly.

    Raises `ConfigError` with one line naming the file for a missing or unreadable file, a YAML
    syntax error (with its line and column), a key given twice in one mapping (plain YAML keeps
    the last silently; the line names the key's path and both lines) and a top level that is
    not a mapping.
    """
    import yaml

    from memorization.errors import ConfigError

    try:
        with open(config_path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{config_path}: is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{config_path}: permission denied") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{config_path}: not UTF-8 text") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_unique_keys(node, config_path)
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{config_path}: {where}invalid YAML: {problem}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{config_path}: the top level must be a mapping of settings, got {type(config).__name__}")
    return config


def _check_unique_keys(node, config_path, prefix: str = "", seen_nodes=None) -> None:
    import yaml

    from memorization.errors import ConfigError

    seen_nodes = set() if seen_nodes is None else seen_nodes
    if node is None or id(node) in seen_nodes:  # an anchor's node is checked once
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        lines = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            path = f"{prefix}.{key}" if prefix else str(key)
            line = key_node.start_mark.line + 1
            if key in lines:
                raise ConfigError(
                    f"{config_path}: line {line}: duplicate key {path} (first given at line {lines[key]}); "
                    "YAML would silently keep the last one, so remove one of them"
                )
            lines[key] = line
            _check_unique_keys(value_node, config_path, path, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_unique_keys(item, config_path, f"{prefix}[{index}]", seen_nodes)


def check_finite(config, prefix: str = "") -> None:
    """Raise `ConfigError` naming the first NaN or infinite number anywhere in ``config``.

    JSON Schema's ``minimum``/``exclusiveMinimum`` let NaN through (every comparison with it is
    false), and YAML reads ``.nan`` and ``.inf`` as numbers, so they are refused here.
    """
    import math

    from memorization.errors import ConfigError

    if isinstance(config, dict):
        for key, value in config.items():
            check_finite(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(config, list):
        for index, value in enumerate(config):
            check_finite(value, f"{prefix}[{index}]")
    elif isinstance(config, float) and not math.isfinite(config):
        raise ConfigError(f"invalid config: key {prefix or '<top level>'}: {config} is not a finite number")


def check_config_file(config_path, schema_path) -> None:
    """Raise ConfigError with one line naming the file and the first bad key of a config file."""
    import jsonschema

    from memorization.errors import ConfigError

    config = read_config_file(config_path)
    try:
        check_finite(config)
    except ConfigError as error:
        raise ConfigError(f"{config_path}: {error}") from None
    try:
        schema_validator(schema_path).validate(config)
    except jsonschema.ValidationError as error:
        raise ConfigError(f"{config_path}: {describe_validation_error(error)}") from None


# Hex digits of the settings digest that ends every run and model key.
KEY_DIGEST_LENGTH = 8


def merge(base: dict, overlay: dict) -> dict:
    """``overlay`` merged into ``base`` key by key, nested dictionaries too, as Snakemake merges
    ``--configfile`` files into the workflow's default config."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_workflow_config(config_files, schema_path, default="config/config.yaml") -> dict:
    """The config a Snakemake run with these ``--configfile`` files sees: the default config with
    each file merged in order, validated, with every schema default filled."""
    config = read_config_file(default)
    for path in config_files:
        config = merge(config, read_config_file(path))
    return fill_defaults(config, schema_path)


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

    check_finite(config)
    validator = schema_validator(schema_path, _filling_validator_class())
    try:
        validator.validate(config)
    except jsonschema.ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
    return config
