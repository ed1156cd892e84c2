import pytest

from quanwang.core.choices import PiiKind
from quanwang.core.masking import mask


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("13812345678", PiiKind.MSISDN, "138****5678"),
        ("+8613812345678", PiiKind.MSISDN, "+86138****5678"),
        ("张三丰", PiiKind.NAME, "张**"),
        ("440106199001011234", PiiKind.ID_NUMBER, "440106********1234"),
        ("li.si@example.cn", PiiKind.EMAIL, "l***@example.cn"),
        ("", PiiKind.MSISDN, ""),
    ],
)
def test_mask_hides_the_identifying_middle(value: str, kind: PiiKind, expected: str) -> None:
    assert mask(value, kind) == expected


def test_a_short_number_is_still_masked() -> None:
    masked = mask("12345", PiiKind.MSISDN)

    assert masked != "12345"
    assert "*" in masked
