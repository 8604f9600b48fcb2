"""Tests of gislib.i18n."""

from __future__ import annotations

import pytest

from gislib.i18n import pick, tr


def test_tr_picks_the_language_and_refuses_unknown_ones() -> None:
    assert tr("总览", "Overview") == "总览"
    assert tr("总览", "Overview", "en") == "Overview"
    with pytest.raises(ValueError, match="fr"):
        tr("总览", "Overview", "fr")


def test_pick_splits_bilingual_library_messages() -> None:
    message = "工作区 a.gpkg 不存在 / workspace a.gpkg does not exist"
    assert pick(message, "zh") == "工作区 a.gpkg 不存在"
    assert pick(message, "en") == "workspace a.gpkg does not exist"
    assert pick("只有中文", "en") == "只有中文"
