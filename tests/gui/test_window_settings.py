"""What the window remembers between runs (QSettings in a test-only file)."""

from __future__ import annotations

from pixmill.engine.recipe import Recipe, Resize


def test_settings_survive_a_restart_of_the_window(qtbot, make_window, tmp_path, settings):
    first = make_window()
    first.show()
    recipe = Recipe(
        format="webp",
        quality=64,
        resize=Resize("long_edge", long_edge=1500),
        metadata="strip",
        name_template="{stem}-small",
        on_conflict="skip",
        keep_dates=True,
    )
    first.recipePanel.set_recipe(recipe)
    out = tmp_path / "exports"
    first.output.set_output(str(out), next_to_source=False)
    first.output.set_workers(1)
    first.resize(1100, 700)
    first.mainSplitter.setSizes([250, 400])
    qtbot.wait(10)
    splitter_sizes = first.mainSplitter.sizes()
    first.close()
    assert not first.isVisible()

    second = make_window()
    assert second.recipePanel.recipe() == recipe
    assert second.output.output_dir() == str(out)
    assert second.output.workers() == 1
    screen = second.screen().availableGeometry()
    if screen.width() >= 1100 and screen.height() >= 700:
        assert (second.width(), second.height()) == (1100, 700)
    second.show()
    qtbot.waitExposed(second)
    assert second.mainSplitter.sizes() == splitter_sizes

    second.output.set_output(str(out), next_to_source=True)
    second.close()
    third = make_window()
    assert third.output.output_dir() is None
    assert third.output.outputDirEdit.text() == str(out), "the folder is remembered anyway"


def test_a_fresh_window_uses_the_cpu_count_and_safe_defaults(make_window):
    w = make_window()
    assert w.output.workers() == w.output.cpus
    assert w.output.output_dir() is None
    assert w.recipePanel.recipe() == Recipe()
    assert w.windowTitle() == "Pixmill"


def test_a_damaged_settings_file_falls_back_to_defaults(make_window, settings):
    settings.setValue("recipe/json", '{"quality": 900}')
    settings.setValue("pool/workers", "many")
    w = make_window()
    assert w.recipePanel.recipe() == Recipe()
    assert w.output.workers() == w.output.cpus
