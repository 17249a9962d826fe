"""The IDX reader under random and damaged bytes: it parses them or raises IDXError, nothing else.

Parsed arrays are checked against an independent decoder written with ``struct``.
"""
import gzip
import math
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from gluon_notes.cli import main
from gluon_notes.data import BUNDLED_ROOT, FILES, IDXError, parse_idx, read_idx

# IDX type code -> struct format character (big-endian data).
CODES = {0x08: 'B', 0x09: 'b', 0x0B: 'h', 0x0C: 'i', 0x0D: 'f', 0x0E: 'd'}
# No deadline: under load one example may be slow; max_examples bounds the run.
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_decode(raw):
    """The array a well-formed IDX file holds, or None if ``raw`` is not one."""
    if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in CODES or not 0 < raw[3] <= 32:
        return None
    ndim, code = raw[3], CODES[raw[2]]
    if len(raw) < 4 + 4 * ndim:
        return None
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    count, itemsize = math.prod(dims), struct.calcsize(code)
    if len(raw) != 4 + 4 * ndim + count * itemsize:
        return None
    if math.prod(d for d in dims if d) * itemsize >= 2 ** 63:  # e.g. 0x2**16x2**16x2**31
        return None  # empty, but numpy cannot make an array of that shape
    values = struct.unpack('>%d%s' % (count, code), raw[4 + 4 * ndim:])
    return np.array(values, dtype=np.dtype(code)).reshape(dims)


def check_parse(raw):
    expected = reference_decode(raw)
    try:
        got = parse_idx(raw)
    except IDXError as e:
        assert expected is None, 'rejected a well-formed file: %s' % e
        assert '\n' not in str(e)
        return None
    assert expected is not None, 'accepted a malformed file'
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)  # NaNs compare equal here
    return got


@st.composite
def idx_files(draw):
    code = draw(st.sampled_from(sorted(CODES)))
    dims = draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    body = draw(st.binary(min_size=math.prod(dims) * struct.calcsize(CODES[code]),
                          max_size=math.prod(dims) * struct.calcsize(CODES[code])))
    return struct.pack('>HBB', 0, code, len(dims)) + struct.pack('>%dI' % len(dims), *dims) + body


@FUZZ
@given(st.binary(max_size=64))
def test_random_bytes_parse_or_raise_idx_error(raw):
    check_parse(raw)


# Sizes biased to the edges: 0 and 1, and 2**16 and 2**32 - 1, whose products overflow int64.
SIZES = st.one_of(st.integers(0, 2), st.sampled_from([2 ** 16, 2 ** 31, 2 ** 32 - 1]),
                  st.integers(0, 2 ** 32 - 1))


@FUZZ
@given(st.sampled_from([0, 1, 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0xFF]),
       st.lists(SIZES, max_size=40), st.binary(max_size=16), st.booleans())
def test_random_headers_parse_or_raise_idx_error(code, dims, body, zero_magic):
    """Any type code, dimension count (up to 40) and sizes."""
    raw = (struct.pack('>HBB', 0 if zero_magic else 1, code, len(dims))
           + struct.pack('>%dI' % len(dims), *dims) + body)
    check_parse(raw)


@FUZZ
@given(idx_files(), st.data())
def test_well_formed_files_parse_and_any_damage_is_caught(raw, data):
    assert check_parse(raw) is not None
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(IDXError, match='truncated|not an IDX file'):
        parse_idx(raw[:cut])
    with pytest.raises(IDXError, match='trailing data'):
        parse_idx(raw + data.draw(st.binary(min_size=1, max_size=9)))
    where = data.draw(st.integers(0, len(raw) - 1))
    flipped = bytearray(raw)
    flipped[where] ^= data.draw(st.integers(1, 255))
    check_parse(bytes(flipped))


def test_product_overflowing_int64_is_not_a_reshape_crash():
    # 2**16 ** 4 == 2**64: with int64 arithmetic the expected size wrapped to 0 and matched.
    raw = struct.pack('>HBB4I', 0, 0x08, 4, *[2 ** 16] * 4)
    with pytest.raises(IDXError, match='truncated'):
        parse_idx(raw)


def test_empty_array_of_a_shape_too_large_for_numpy_is_an_idx_error():
    # Found by the fuzzer: numpy refuses the shape even though the array is empty.
    raw = struct.pack('>HBB4I', 0, 0x08, 4, 0, 2 ** 16, 2 ** 16, 2 ** 31)
    with pytest.raises(IDXError, match='too large for numpy'):
        parse_idx(raw)


def test_more_dimensions_than_numpy_allows_is_an_idx_error():
    raw = struct.pack('>HBB', 0, 0x08, 33) + struct.pack('>33I', *[1] * 33) + b'\x07'
    with pytest.raises(IDXError, match='33 dimensions'):
        parse_idx(raw)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(idx_files(), st.data())
def test_damaged_gzip_files_read_or_raise_idx_error(tmp_path, raw, data):
    packed = bytearray(gzip.compress(raw))
    cut = data.draw(st.integers(0, len(packed)))
    where = data.draw(st.integers(0, len(packed) - 1))
    packed[where] ^= data.draw(st.integers(0, 255))
    path = tmp_path / 'x-idx-ubyte.gz'
    damaged = bytes(packed[:cut])
    path.write_bytes(damaged)
    # The damage may leave a valid file (a zero XOR, no cut, a timestamp byte): decide first.
    try:
        expected = reference_decode(gzip.decompress(damaged))
    except (OSError, EOFError, zlib.error):
        expected = None
    try:
        array = read_idx(path)
    except IDXError as e:
        assert expected is None, 'a readable file was rejected: %s' % e
        assert str(path) in str(e) and '\n' not in str(e)
    else:
        assert expected is not None, 'a damaged file was read as %r' % (array,)
        assert array.dtype == expected.dtype and array.shape == expected.shape
        np.testing.assert_array_equal(array, expected)


# ---------------------------------------------------------------------------------------------
# The CLI: a damaged data file is a one-line error naming it, exit 2

def _damaged(kind):
    images = (BUNDLED_ROOT / FILES['train'][0]).read_bytes()
    header = struct.pack('>HBB3I', 0, 0x08, 3, 60000, 28, 28)
    if kind == 'truncated gzip':
        return images[:5000], 'unreadable gzip data'
    if kind == 'corrupt deflate stream':
        damaged = bytearray(gzip.compress(header + bytes(2000)))
        damaged[12] ^= 0xFF
        return bytes(damaged), 'unreadable gzip data'
    if kind == 'wrong magic':
        return gzip.compress(b'\x12\x34' + header[2:] + bytes(100)), 'not an IDX file'
    return gzip.compress(header + bytes(100)), 'truncated: 116 bytes, expected 47040016'


@pytest.mark.parametrize('kind', ['truncated gzip', 'corrupt deflate stream', 'wrong magic',
                                  'truncated payload'])
def test_cli_names_a_damaged_idx_file_in_one_line(tmp_path, kind, capsys):
    for split in FILES.values():
        for name in split:
            os.symlink(BUNDLED_ROOT / name, tmp_path / name)
    bad = tmp_path / FILES['train'][0]
    bad.unlink()
    content, message = _damaged(kind)
    bad.write_bytes(content)
    assert main(['train', 'lenet', '--data-root', str(tmp_path), '--epochs', '1', '--subset', '64',
                 '--ctx', 'cpu']) == 2
    err = capsys.readouterr().err
    assert err.startswith('gluon-notes: error: %s: ' % bad) and message in err, err
    assert len(err.strip().splitlines()) == 1, err
