"""`longshot doctor`: every model role, the video decoders and the library home; exit 1 when the
offline stack is not usable. It looks (is the package installed, are the weights on disk?)
without loading anything, in well under the time of one model load; `--load` loads every
role, to prove each one runs."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import ConfigOption, HomeOption, guarded
from perception.config import load_config


@guarded
def doctor(
    load: Annotated[bool, typer.Option("--load", help="Load every model, not only find its weights (slower).")] = False,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Report every model role, the video decoders and the library home."""
    from perception.models import Models

    settings = load_config(config, overrides={"home": home})
    rows = Models(settings).doctor(load=load)
    width = max(len(r.role) for r in rows)
    for row in rows:
        mark = typer.style("ok ", fg=typer.colors.GREEN) if row.available else typer.style("-- ", fg=typer.colors.YELLOW)
        detail = row.source if row.available else row.reason
        typer.echo(f"{mark}{row.role:<{width}}  {row.backend}:{row.model}  {detail}")
    typer.echo(f"home: {settings.home}")
    essential = {"ocr", "speech", "text_embedding"}
    usable = all(r.available for r in rows if r.role in essential)
    if not usable:
        typer.secho("the offline stack is not usable: see the roles marked --", fg=typer.colors.RED, err=True)
    raise typer.Exit(0 if usable else 1)
