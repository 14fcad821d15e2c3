"""YAML configuration: loading, validation with file/line, typed objects."""
