"""The tags every taggable resource carries; the clean-account checker keys on them."""

from . import names


def tags(env: str, component: str, **extra: str) -> dict:
    t = {
        names.TAG_PLATFORM: names.PLATFORM,
        names.TAG_ENVIRONMENT: env,
        names.TAG_COMPONENT: component,
        names.TAG_MANAGED_BY: "pulumi",
    }
    t.update(extra)
    return t
