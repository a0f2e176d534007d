"""oci_runtime.fastjson must be indistinguishable from the json package (no root needed)."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from oci_runtime import fastjson

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _same(a, b):
    return json.dumps(a, allow_nan=True) == json.dumps(b, allow_nan=True)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_dumps_matches_json(doc):
    assert fastjson.dumps(doc) == json.dumps(doc)
    assert fastjson.dumps(doc, indent=2) == json.dumps(doc, indent=2)
    assert fastjson.dumps(doc, indent=0) == json.dumps(doc, indent=0)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_loads_matches_json(doc):
    text = json.dumps(doc, indent=1)
    assert _same(fastjson.loads(text), json.loads(text))
    assert _same(fastjson.loads(text.encode()), json.loads(text.encode()))


@pytest.mark.parametrize("text", [b"", b"{", b'{"a": 1} x', b"\xef\xbb\xbf{}", b"nul", b'"\xff"',
                                  b'{"a": 01}', "\ufeff{}", b"[1,]"])
def test_errors_are_json_errors(text):
    try:
        json.loads(text)
    except ValueError as exc:
        expected = (type(exc), str(exc))
    else:
        assert fastjson.loads(text) == json.loads(text)
        return
    with pytest.raises(ValueError) as info:
        fastjson.loads(text)
    assert (type(info.value), str(info.value)) == expected


def test_dumps_unusual_values_behave_as_json():
    for doc in ({1: "int key"}, {None: 1, True: 2}, (1, 2)):
        assert fastjson.dumps(doc) == json.dumps(doc)
        assert fastjson.dumps(doc, indent=2) == json.dumps(doc, indent=2)
    with pytest.raises(TypeError, match="not JSON serializable"):
        fastjson.dumps({"a": object()})
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        fastjson.dumps(loop)
    assert fastjson.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a": 2, "b": 1}'
