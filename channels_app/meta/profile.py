"""A customer's Instagram profile (name, username, picture) from the Graph API."""

from dataclasses import dataclass

from .graph import GraphClient


@dataclass(frozen=True)
class Profile:
    name: str
    username: str
    picture_url: str


def fetch_profile(page_token: str, igsid: str) -> Profile:
    """GET /{IGSID}?fields=name,username,profile_pic. Raises GraphError."""
    data = GraphClient(page_token).get(igsid, fields="name,username,profile_pic")
    return Profile(
        name=str(data.get("name") or ""),
        username=str(data.get("username") or ""),
        picture_url=str(data.get("profile_pic") or ""),
    )
