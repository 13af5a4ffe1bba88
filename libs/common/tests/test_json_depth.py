"""nests_deeper_than: the depth of parsed JSON, counted without recursion."""

from __future__ import annotations

from loom_common.json_depth import nests_deeper_than


def test_depth_counts_objects_and_arrays_not_scalars() -> None:
    assert not nests_deeper_than("text", 0)
    assert not nests_deeper_than({}, 1)
    assert nests_deeper_than({"a": []}, 1)
    assert not nests_deeper_than({"a": [1, {"b": "deep?"}], "c": {}}, 3)
    assert nests_deeper_than({"a": [1, {"b": []}]}, 3)


def test_a_value_far_deeper_than_python_recursion_is_measured() -> None:
    levels = 100_000
    deep: list[object] = []
    for _ in range(levels):
        deep = [deep]
    assert nests_deeper_than(deep, 100)
    assert not nests_deeper_than(deep, levels + 1)
