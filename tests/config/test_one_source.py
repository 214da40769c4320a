"""Facts with one source: a new image field in the schema reaches the pinning rule."""

from __future__ import annotations

import pytest
from support import PROJECT_DIR, stack_document

from components.config.errors import ConfigError
from components.config.loader import flatten, load
from components.config.schema import ImagesConfig, config_key

# Every image field the schema declares (all of ImagesConfig but the mirror prefix).
IMAGE_FIELDS = [name for name in ImagesConfig.model_fields if name != "mirror"]


@pytest.mark.parametrize("field", IMAGE_FIELDS)
def test_every_image_field_is_held_to_the_pinning_rule(field: str) -> None:
    config = stack_document("dev")["config"]
    config.setdefault("airlock:images", {})[config_key(field)] = "example/floating:latest"
    with pytest.raises(ConfigError) as raised:
        load(flatten(config), "dev", PROJECT_DIR)
    assert [issue.path for issue in raised.value.issues] == [f"airlock:images.{config_key(field)}"]
    assert "'latest' floats" in raised.value.issues[0].message

