"""The config layer: stack YAML -> a validated, defaulted :class:`~components.config.schema.StackConfig`.

The bottom of the import graph: nothing here imports ``components.aws``,
``components.workloads`` or ``components.platform`` (tests/config/test_config_package.py
checks it), so the schema, defaults and rules can be read, tested and documented alone.

* ``schema``: the shapes, types, ranges and per-field defaults (pydantic);
* ``loader``: flat Pulumi config -> ``StackConfig`` in three phases (types, defaults, rules);
* ``errors``: one line per problem, naming key, value and what is allowed;
* ``defaults``: what the profile and the catalogs fill in for ``None``;
* ``rules/``: cross-field rules, one module per part of the schema;
* ``catalog``, ``sizing``, ``quantities``, ``images``, ``endpoints``, ``naming``,
  ``tool_calling``: facts and small parsers the rules and the components share.
"""
