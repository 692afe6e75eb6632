"""The baseline app for the snapshot benchmark: a Litestar hello-world handler."""

from litestar import Litestar, get


@get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


app = Litestar([hello])
