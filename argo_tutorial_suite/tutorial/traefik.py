"""What Traefik's Kubernetes Ingress NGINX provider (the corrected profile's Ingress controller at current pins, D37)
reads of ingress-nginx's annotations: the keys of ``pkg/provider/kubernetes/ingress-nginx/annotations.go`` at
github.com/traefik/traefik/v3@v3.6.12 (read from the module; its docs' ``ingress-nginx.md`` lists the same). An
ingress-nginx annotation outside this set is silently ignored by Traefik, so the check calls it out."""

from __future__ import annotations

PROVIDER_VERSION = "v3.6.12"
PREFIX = "nginx.ingress.kubernetes.io/"
SUPPORTED_NGINX_ANNOTATIONS: frozenset[str] = frozenset(
    PREFIX + a
    for a in (
        "affinity", "auth-realm", "auth-response-headers", "auth-secret", "auth-secret-type", "auth-type", "auth-url",
        "backend-protocol", "cors-allow-credentials", "cors-allow-headers", "cors-allow-methods", "cors-allow-origin",
        "cors-expose-headers", "cors-max-age", "enable-cors", "force-ssl-redirect", "proxy-ssl-name",
        "proxy-ssl-secret", "proxy-ssl-server-name", "proxy-ssl-verify", "service-upstream", "session-cookie-domain",
        "session-cookie-max-age", "session-cookie-name", "session-cookie-path", "session-cookie-samesite",
        "session-cookie-secure", "ssl-passthrough", "ssl-redirect", "use-regex",
    )
)  # fmt: skip


def unsupported(annotations: dict[str, object]) -> list[str]:
    """The ingress-nginx annotations Traefik's provider would ignore."""
    return sorted(k for k in annotations if k.startswith(PREFIX) and k not in SUPPORTED_NGINX_ANNOTATIONS)
