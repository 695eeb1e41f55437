"""The Gradio page of ``dehaze-app``: upload photos, compare before/after, download PNGs or a zip; and ``/dehaze``.

Imported only by ``dehaze-app`` (Gradio is the optional ``[app]`` extra). System fonts only: the page loads nothing
from outside the machine. The page's button and ``/dehaze`` share one Gradio concurrency group, so at most
``concurrency`` dehazing jobs run at once whichever way they came in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr

from dehaze.app.service import DehazeService, PhotoResult, failure_reason, summary_lines, zip_results
from dehaze.defaults import COLOR_MODES, STRENGTH_RANGE
from dehaze.errors import DehazeError

COLOR_HELP = "auto: colour stays colour, gray stays gray; gray: grayscale; luminance: dehaze Y, keep chroma"
JOBS = "dehaze"  # the concurrency group of every event that dehazes
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
)  # no web fonts fetched


def _shown(result: PhotoResult | None) -> tuple[Any, Any]:
    """Slider value and DCP image of one result (empty when there is none)."""
    if result is None:
        return None, gr.update(value=None, visible=False)
    slider = (str(result.before), str(result.after))
    return slider, gr.update(value=str(result.dcp) if result.dcp else None, visible=result.dcp is not None)


def files_in_use(page: gr.Blocks) -> set[str]:
    """Real paths of the files sent with the requests now waiting in Gradio's queue or running (reads the queue's
    private table of events, ``gradio>=6,<7``; ``tests/test_app_load.py`` checks it on a real queued event)."""
    for _ in range(3):  # the server thread may change the table while it is copied
        try:
            events = list(page._queue.event_ids_to_events.values())
            break
        except RuntimeError:
            continue
    else:
        return set()
    found: set[str] = set()
    stack = [getattr(event.data, "data", None) for event in events]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("path"), str):
                found.add(os.path.realpath(value["path"]))
            stack += list(value.values())
        elif isinstance(value, list | tuple):
            stack += list(value)
    return found


def _run_batch(
    service: DehazeService,
    files: list[str] | None,
    color: str,
    strength: float,
    with_dcp: bool,
    progress: gr.Progress,
) -> tuple[Any, ...]:
    """The page's Dehaze button: every upload in turn, with a progress bar."""
    if not files:
        raise gr.Error("Upload one or more photos first.")
    results = [
        service.process(Path(file), color, strength, with_dcp)
        for file in progress.tqdm(files, desc="dehazing", unit="photo")
    ]
    done = [result for result in results if result.after is not None]
    download = None
    if len(done) == 1:
        download = str(done[0].after)
    elif done:
        download = str(zip_results(done, done[0].after.parent))
    slider, dcp = _shown(done[0] if done else None)
    names = [result.name for result in done]
    choice = gr.update(choices=names, value=names[0] if names else None, visible=len(names) > 1)
    return slider, dcp, download, summary_lines(results), choice, {result.name: result for result in done}


def _api_dehaze(service: DehazeService, image: str, color: str = "auto", strength: float = 1.0) -> str:
    """``/dehaze``: an image file → the PNG ``dehaze-infer --color COLOR --strength S`` writes for it."""
    if color not in COLOR_MODES:
        raise gr.Error(f"color must be one of {', '.join(COLOR_MODES)}")
    try:
        return str(service.dehaze_to_png(Path(image), color, float(strength)))
    except (DehazeError, OSError) as exc:
        raise gr.Error(f"{Path(image).name}: {failure_reason(exc)}") from None


def _controls() -> tuple[Any, Any, Any, Any, Any]:
    files = gr.File(label="Photos", file_count="multiple", elem_id="photos")
    color = gr.Radio(list(COLOR_MODES), value="auto", label="Colour mode", info=COLOR_HELP, elem_id="color")
    strength = gr.Slider(
        *STRENGTH_RANGE,
        value=1.0,
        step=0.05,
        label="Strength",
        elem_id="strength",
        info="0 = the photo unchanged, 1 = the model's output, more removes more haze",
    )
    with_dcp = gr.Checkbox(label="Show the dark channel prior beside it", elem_id="with-dcp")
    button = gr.Button("Dehaze", variant="primary", elem_id="run")
    return files, color, strength, with_dcp, button


def build_page(service: DehazeService, analytics: bool = False, concurrency: int = 1) -> gr.Blocks:
    """The page and its API endpoint ``/dehaze`` (image file, colour mode, strength → PNG); at most
    ``concurrency`` dehazing jobs at once (files are deleted by the app's work folder, not by Gradio)."""
    jobs = {"concurrency_id": JOBS, "concurrency_limit": concurrency}
    with gr.Blocks(title="dehaze", analytics_enabled=analytics) as page:
        gr.Markdown("# dehaze\nUpload hazy photos; they stay on this machine. PNG for one photo, a zip for many.")
        results = gr.State({})
        with gr.Row():
            with gr.Column(scale=1):
                files, color, strength, with_dcp, button = _controls()
                messages = gr.Textbox(label="Messages", lines=3, interactive=False, elem_id="messages")
                download = gr.File(label="Download", interactive=False, elem_id="download")
            with gr.Column(scale=2):
                choice = gr.Dropdown(label="Photo", visible=False, elem_id="choice")
                with gr.Row():
                    slider = gr.ImageSlider(label="Before | after", type="filepath", format="png", elem_id="slider")
                    dcp = gr.Image(
                        label="Dark channel prior",
                        type="filepath",
                        format="png",
                        visible=False,
                        buttons=["download", "fullscreen"],
                    )

        def run(
            files: list[str] | None, color: str, strength: float, with_dcp: bool, progress: gr.Progress = gr.Progress()
        ) -> tuple[Any, ...]:
            return _run_batch(service, files, color, strength, with_dcp, progress)

        button.click(
            run,
            [files, color, strength, with_dcp],
            [slider, dcp, download, messages, choice, results],
            api_visibility="private",
            **jobs,
        )
        choice.change(
            lambda name, shown: _shown(shown.get(name)), [choice, results], [slider, dcp], api_visibility="private"
        )
        with gr.Row(visible=False):  # the API endpoint's own inputs and output, not shown on the page
            api_image, api_color = gr.File(type="filepath"), gr.Textbox(value="auto")
            api_strength, api_output = gr.Number(value=1.0), gr.File()
        gr.Button(visible=False).click(
            lambda image, color, strength: _api_dehaze(service, image, color, strength),
            [api_image, api_color, api_strength],
            api_output,
            api_name="dehaze",
            **jobs,
        )
    return page
