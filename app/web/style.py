"""How the web app looks: the intro line, the theme (local fonts only) and the page's CSS."""

import gradio as gr

INTRO = """## Longshot
Ask questions about long videos. Upload a video in **Library**, then ask in **Ask**: the agent searches its
memories, shows each step, and answers with the frames and moments it relied on. **Search** looks across every video."""

CSS = """
.gradio-container {max-width: 1480px !important; margin: auto;}
#ls-header {align-items: flex-end;}
#ls-header h2 {margin-bottom: 2px;}
.ls-jobs {display: flex; flex-wrap: wrap; gap: 8px; margin: 2px 0 6px;}
.ls-job {flex: 1 1 320px; border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 12px;
         background: var(--background-fill-secondary);}
.ls-job-head {display: flex; justify-content: space-between; font-size: 14px;}
.ls-bar {height: 8px; background: var(--neutral-200); border-radius: 4px; overflow: hidden; margin: 6px 0 4px;}
.ls-bar > div {height: 100%; background: var(--color-accent); transition: width .6s ease;}
.ls-failed .ls-bar > div {background: #ef4444;}
.ls-done .ls-bar > div {background: #10b981;}
.ls-job-note {font-size: 12px; color: var(--body-text-color-subdued);}
#ls-doctor td {overflow-wrap: anywhere;}
#ls-timeline td, #ls-facts td, #ls-entities td, #ls-library td, #ls-doctor td {font-family: var(--font);}
#ls-sketches .thumbnail-item, #ls-image-sketches .thumbnail-item {aspect-ratio: 4 / 3;}
.ls-player {width: 100%; max-height: 300px; border-radius: 10px; background: #000;}
.ls-player-empty {padding: 28px 16px; text-align: center; color: var(--body-text-color-subdued);
                  border: 1px dashed var(--border-color-primary); border-radius: 10px; font-size: 14px;}
.ls-player-caption {font-size: 12px; color: var(--body-text-color-subdued); margin-top: 4px;}
"""


def theme() -> gr.themes.Base:
    """A calm theme with local fonts only: the app must look right with no network."""
    return gr.themes.Soft(
        primary_hue="indigo",
        secondary_hue="sky",
        neutral_hue="slate",
        font=["Inter", "DejaVu Sans", "ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["DejaVu Sans Mono", "ui-monospace", "monospace"],
    )
