"""A small OCI Distribution API client: manifest digests and tag lists, with Basic and Bearer auth.

Only what gitops-bot needs, over `requests` (docs/registry.md says why not a bigger library):
- `digest(repository, tag)`: `HEAD /v2/NAME/manifests/TAG` accepting an OCI index, an OCI manifest,
  a Docker manifest list and a Docker v2 manifest; the answer's `Docker-Content-Digest` (for a
  multi-arch image, the digest of the index), or None when the tag does not exist;
- `tags(repository)`: `GET /v2/NAME/tags/list`, following `Link: <…>; rel="next"` pages.

Loopback registries are reached over plain HTTP, every other one over HTTPS only. Every request has
a timeout; 429, 5xx and connection failures are retried a bounded number of times. Errors name the
registry and the cause, never a credential.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from urllib.parse import urljoin, urlsplit

import requests

from gitops_bot.model.errors import RegistryError
from gitops_bot.model.images import DIGEST_RE, TAG_RE
from gitops_bot.model.timebudget import TimeBudget
from gitops_bot.registry.auth import Challenge, Login, RegistryAuth
from gitops_bot.registry.endpoint import Endpoint, is_loopback

log = logging.getLogger("gitops_bot.registry")

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
MAX_PAGES = 1000
_ERRNO = re.compile(r"\[Errno -?\d+\] ([A-Za-z][A-Za-z ]{2,60})")
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class RegistryClient:
    """One run's registry conversations; bearer tokens are cached per registry and scope."""

    def __init__(self, auth: RegistryAuth, *, timeout: float = 15.0, attempts: int = 4,
                 backoff: float = 0.25, page_size: int = 1000, sleep: Callable[[float], None] = time.sleep,
                 budget: TimeBudget | None = None, verify: str | bool = True):
        self.auth = auth
        self.budget = budget  # the run's --timeout: requests and back-offs spend it (docs/trust-model.md)
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.page_size = page_size
        self._sleep = sleep
        self._http = requests.Session()
        # No ~/.netrc: its password would replace the registry's Authorization header. Proxies
        # (HTTPS_PROXY, NO_PROXY) and a CA bundle (REQUESTS_CA_BUNDLE, SSL_CERT_FILE) are honoured.
        self._http.trust_env = False
        self._verify = verify  # a CA bundle's path (REQUESTS_CA_BUNDLE / SSL_CERT_FILE of the run), else the default
        self._tokens: dict[tuple[str, str], str] = {}  # (host, scope) -> Authorization value

    def close(self) -> None:
        self._http.close()

    def redact(self, text: str) -> str:
        for secret in sorted(self.auth.secrets() + list(self._tokens.values()), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    # -- the two operations ----------------------------------------------------------------------

    def digest(self, repository: str, tag: str) -> str | None:
        """The digest `repository:tag` resolves to, or None when the registry does not have it."""
        ep = Endpoint.of(repository)
        url = f"{ep.base}/v2/{ep.name}/manifests/{tag}"
        resp = self._call("HEAD", url, ep, {"Accept": ACCEPT})
        if resp.status_code == 404:
            return None
        self._ok(resp, ep, f"{repository}:{tag}")
        digest = resp.headers.get("Docker-Content-Digest", "")
        if DIGEST_RE.fullmatch(digest):
            return digest
        # a registry that omits the header, or sends one that is not sha256:<64 hex> (sha512, junk):
        # the sha256 of the manifest itself is its digest, and the only form a reference may carry
        resp = self._call("GET", url, ep, {"Accept": ACCEPT})
        self._ok(resp, ep, f"{repository}:{tag}")
        return "sha256:" + hashlib.sha256(resp.content).hexdigest()

    def tags(self, repository: str) -> list[str]:
        """Every tag of `repository` (empty when the registry does not know the repository)."""
        ep = Endpoint.of(repository)
        url: str | None = f"{ep.base}/v2/{ep.name}/tags/list?n={self.page_size}"
        out: list[str] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return out
            resp = self._call("GET", url, ep, {"Accept": "application/json"})
            if resp.status_code == 404:
                return out
            self._ok(resp, ep, f"the tags of {repository}")
            try:
                page = resp.json().get("tags") or []
            except (ValueError, AttributeError):
                raise RegistryError(f"registry {ep.host}: the tag list of {ep.name} is not JSON") from None
            if not isinstance(page, list):
                raise RegistryError(f"registry {ep.host}: the tag list of {ep.name} has no list of tags")
            # a tag a registry lists is data: one that no reference could carry is never a candidate
            out += [t for t in page if isinstance(t, str) and TAG_RE.fullmatch(t)]
            url = self._next_page(resp, url, ep)
        raise RegistryError(f"registry {ep.host}: more than {MAX_PAGES} pages of tags for {ep.name}")

    # -- HTTP, auth and retries --------------------------------------------------------------------

    def _next_page(self, resp: requests.Response, url: str, ep: Endpoint) -> str | None:
        m = _LINK_NEXT.search(resp.headers.get("Link", ""))
        if not m:
            return None
        nxt = urljoin(url, str(m[1]))
        if urlsplit(nxt).netloc != urlsplit(ep.base).netloc:
            raise RegistryError(f"registry {ep.host}: tag list page link leaves the registry")
        return nxt

    def _call(self, method: str, url: str, ep: Endpoint, headers: Mapping[str, str]) -> requests.Response:
        scope = f"repository:{ep.name}:pull"
        tried_login = False
        while True:
            sent = dict(headers)
            cached = self._tokens.get((ep.host, scope))
            if cached:
                sent["Authorization"] = cached
            resp = self._send(method, url, ep, sent)
            if resp.status_code != 401:
                return resp
            if tried_login:
                raise RegistryError(self._refused(ep, resp))
            tried_login = True
            self._tokens[(ep.host, scope)] = self._authorize(ep, scope, resp)

    def _authorize(self, ep: Endpoint, scope: str, resp: requests.Response) -> str:
        challenge = Challenge.parse(resp.headers.get("WWW-Authenticate", ""))
        login = self.auth.login(ep.host)
        if challenge.scheme == "basic":
            if login is None:
                raise RegistryError(self._refused(ep, resp))
            return login.basic()
        if challenge.scheme != "bearer" or not challenge.params.get("realm"):
            raise RegistryError(f"registry {ep.host}: unsupported authentication challenge "
                                f"{challenge.scheme or 'none'!r}")
        return "Bearer " + self._token(ep, challenge, scope, login)

    def _token(self, ep: Endpoint, challenge: Challenge, scope: str, login: Login | None) -> str:
        realm = challenge.params["realm"]
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RegistryError(f"registry {ep.host}: token realm {realm!r} is not an http(s) URL")
        if parts.scheme == "http" and not is_loopback(parts.netloc):
            raise RegistryError(f"registry {ep.host}: refusing token realm {realm!r} over plain HTTP")
        params = {"scope": scope}
        if challenge.params.get("service"):
            params["service"] = challenge.params["service"]
        headers = {"Authorization": login.basic()} if login else {}
        resp = self._send("GET", realm, ep, headers, params=params)
        if resp.status_code in (401, 403):
            who = f"the credentials from {login.source}" if login else "anonymous access"
            raise RegistryError(f"registry {ep.host}: token service {parts.netloc} refused {who} "
                                f"(HTTP {resp.status_code})")
        self._ok(resp, ep, f"a token for {ep.name}")
        try:
            body = resp.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"registry {ep.host}: token service {parts.netloc} sent no token")
        return token

    def _refused(self, ep: Endpoint, resp: requests.Response) -> str:
        login = self.auth.login(ep.host)
        if login is not None:
            return f"registry {ep.host} refused the credentials from {login.source} (HTTP {resp.status_code})"
        helper = self.auth.helper(ep.host)
        if helper:
            return (f"registry {ep.host} needs credentials, and the Docker config names credential helper "
                    f"{helper!r}, which gitops-bot does not run: put an 'auths' entry in config.json "
                    f"(docker login with no helper, or docker/login-action)")
        return (f"registry {ep.host} needs credentials: docker login to it (or set DOCKER_CONFIG to a "
                f"folder whose config.json has them)")

    def _send(self, method: str, url: str, ep: Endpoint, headers: Mapping[str, str],
              params: Mapping[str, str] | None = None) -> requests.Response:
        cause = ""
        budget = self.budget or TimeBudget(float("inf"))
        for attempt in range(self.attempts):
            if attempt:
                with budget.spending():
                    self._sleep(min(self.backoff * 2 ** (attempt - 1), 5.0, max(0.0, budget.left())))
            if budget.left() <= 0:
                raise RegistryError(self.redact(f"registry {ep.host} unreachable: {cause or 'timed out'}; "
                                                f"the run used up its {budget.describe()}"))
            timeout = budget.cap(self.timeout)
            try:
                proxies = {} if is_loopback(urlsplit(url).netloc) else requests.utils.get_environ_proxies(url)
                with budget.spending():
                    resp = self._http.request(method, url, headers=dict(headers), params=params,
                                              timeout=(min(timeout, 5.0), timeout),
                                              allow_redirects=True, proxies=proxies, verify=self._verify)
            except requests.RequestException as err:
                cause = _cause(err)
                log.debug("registry %s: %s %s failed: %s", ep.host, method, _path(url), cause)
                continue
            log.debug("registry %s: %s %s -> %d", ep.host, method, _path(url), resp.status_code)
            if resp.status_code not in RETRY_STATUS:
                return resp
            cause = f"HTTP {resp.status_code}"
            retry_after = resp.headers.get("Retry-After", "")
            if retry_after.isdigit() and attempt + 1 < self.attempts:
                with budget.spending():
                    self._sleep(min(float(retry_after), 10.0, max(0.0, budget.left())))
        raise RegistryError(self.redact(
            f"registry {ep.host} unreachable: {cause} (after {self.attempts} attempts)"))

    def _ok(self, resp: requests.Response, ep: Endpoint, what: str) -> None:
        if resp.status_code < 300:
            return
        detail = ""
        try:
            errors = resp.json().get("errors") or []
            if errors and isinstance(errors[0], dict):
                detail = f": {errors[0].get('code', '')} {str(errors[0].get('message', ''))[:200]}".rstrip()
        except (ValueError, AttributeError):
            pass
        raise RegistryError(self.redact(
            f"registry {ep.host} answered HTTP {resp.status_code} for {what}{detail}"))


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _cause(err: requests.RequestException) -> str:
    if isinstance(err, requests.exceptions.SSLError):
        return "TLS handshake failed (a registry other than loopback must serve HTTPS)"
    if isinstance(err, requests.Timeout):
        return "timed out"
    if isinstance(err, requests.ConnectionError):
        m = _ERRNO.search(str(err))
        return f"connection failed ({m[1].strip().lower()})" if m else "connection failed"
    return type(err).__name__
