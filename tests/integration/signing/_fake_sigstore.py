"""A tiny Sigstore instance for offline tests: a Fulcio-shaped CA (with an embedded
precertificate SCT from a fake CT log) and a Rekor v1 log, served over HTTP on 127.0.0.1,
plus a ClientTrustConfig that names them. Test-only code.

The real sigstore-python client code runs against it unpatched: ``SigningContext.
from_trust_config`` -> ``Signer`` (POST /api/v2/signingCert, SCT check) -> ``sign_dsse`` (POST
/api/v1/log/entries) and ``Verifier(trusted_root=...)``. It relies on the wire formats of
Fulcio v2 and Rekor v1 and on sigstore 4.x's bundle checks (Merkle inclusion proof, signed
checkpoint, SET); setup.cfg keeps sigstore within 4.x (tested with 4.5.1).

Identity tokens are unsigned-checked JWTs: sigstore-python reads the claims but never verifies
the token's signature client side; this fake Fulcio takes the identity from ``email`` (or
``sub``) and the issuer from ``iss``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OIDC_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OIDC_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def _spki(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_id(key) -> bytes:
    return hashlib.sha256(_spki(key)).digest()


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der_utf8(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"\x0c" + _der_len(len(raw)) + raw


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unverified_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def make_identity_token(identity: str, issuer: str, *, lifetime: int = 300) -> str:
    """A JWT sigstore-python accepts (aud ``sigstore``); signed with a throwaway key."""
    import jwt

    now = int(time.time())
    key = ec.generate_private_key(ec.SECP256R1())
    claims = {"iss": issuer, "sub": identity, "email": identity, "email_verified": True,
              "aud": "sigstore", "iat": now, "nbf": now, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm="ES256")


class FakeSigstore:
    """Start with ``start()``; ``trust_config_json()`` names its endpoints and keys."""

    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "llm360-test"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "llm360-test-fulcio")])
        ski = x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key())
        self.ca_cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.entries = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- Fulcio ---------------------------------------------------------------------------
    def issue(self, csr_pem: bytes, token: str) -> list[str]:
        claims = _unverified_claims(token)
        identity = claims.get("email") or claims["sub"]
        issuer = claims["iss"]
        csr = x509.load_pem_x509_csr(csr_pem)
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        serial = x509.random_serial_number()

        def build(sct_ext: bytes):
            b = (x509.CertificateBuilder().subject_name(x509.Name([]))
                 .issuer_name(self.ca_cert.subject).public_key(csr.public_key())
                 .serial_number(serial).not_valid_before(now - dt.timedelta(seconds=30))
                 .not_valid_after(now + dt.timedelta(minutes=10))
                 .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                              key_encipherment=False, data_encipherment=False,
                                              key_agreement=False, key_cert_sign=False,
                                              crl_sign=False, encipher_only=False,
                                              decipher_only=False), critical=True)
                 .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                                critical=False)
                 .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                critical=True)
                 .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()),
                                critical=False)
                 .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                     self.ca_key.public_key()), critical=False)
                 .add_extension(x509.SubjectAlternativeName(
                     [x509.UniformResourceIdentifier(identity)] if "://" in identity
                     else [x509.RFC822Name(identity)]), critical=True)
                 .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_V1, issuer.encode()),
                                critical=False)
                 .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_V2, _der_utf8(issuer)),
                                critical=False)
                 .add_extension(x509.UnrecognizedExtension(SCT_OID, sct_ext), critical=False))
            return b.sign(self.ca_key, hashes.SHA256())

        def sct_list(signature: bytes, ts_ms: int) -> bytes:
            sct = (b"\x00" + _key_id(self.ct_key.public_key()) + struct.pack("!Q", ts_ms)
                   + b"\x00\x00" + b"\x04\x03" + struct.pack("!H", len(signature)) + signature)
            lst = struct.pack("!H", len(sct)) + sct
            lst = struct.pack("!H", len(lst)) + lst
            return b"\x04" + _der_len(len(lst)) + lst

        ts_ms = int(time.time() * 1000)
        placeholder = build(sct_list(b"\x00" * 72, ts_ms))
        tbs = placeholder.tbs_precertificate_bytes
        signed_entry = (_key_id(self.ca_key.public_key()) + struct.pack("!I", len(tbs))[1:]
                        + tbs)
        data = (struct.pack("!BBQH", 0, 0, ts_ms, 1) + signed_entry + struct.pack("!H", 0))
        signature = self.ct_key.sign(data, ec.ECDSA(hashes.SHA256()))
        leaf = build(sct_list(signature, ts_ms))
        assert leaf.tbs_precertificate_bytes == tbs
        return [c.public_bytes(serialization.Encoding.PEM).decode()
                for c in (leaf, self.ca_cert)]

    # -- Rekor v1 -------------------------------------------------------------------------
    def log_entry(self, proposed: dict) -> dict:
        if proposed.get("kind") != "dsse":
            raise ValueError("this fake Rekor logs dsse entries only")
        content = proposed["spec"]["proposedContent"]
        envelope = json.loads(content["envelope"])
        payload = base64.b64decode(envelope["payload"])
        body = {"apiVersion": "0.0.1", "kind": "dsse", "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(
                content["envelope"].encode()).hexdigest()},
            "payloadHash": {"algorithm": "sha256",
                            "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [{"signature": s["sig"], "verifier": content["verifiers"][0]}
                           for s in envelope["signatures"]],
        }}
        body_bytes = rfc8785.dumps(body)
        with self._lock:
            index = self.entries
            self.entries += 1
        integrated = int(time.time())
        log_id = _key_id(self.rekor_key.public_key())
        root = hashlib.sha256(b"\x00" + body_bytes).digest()  # one-leaf tree
        origin = f"llm360-test-rekor - {int.from_bytes(log_id[:8], 'big')}"
        note = f"{origin}\n1\n{_b64(root)}\n"
        note_sig = self.rekor_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 llm360-test-rekor {_b64(log_id[:4] + note_sig)}\n"
        body_b64 = _b64(body_bytes)
        set_payload = rfc8785.dumps({"body": body_b64, "integratedTime": integrated,
                                     "logID": log_id.hex(), "logIndex": index})
        set_sig = self.rekor_key.sign(set_payload, ec.ECDSA(hashes.SHA256()))
        uuid = hashlib.sha256(body_bytes).hexdigest()
        return {uuid: {
            "body": body_b64, "integratedTime": integrated, "logID": log_id.hex(),
            "logIndex": index,
            "verification": {
                "inclusionProof": {"checkpoint": checkpoint, "hashes": [], "logIndex": 0,
                                   "rootHash": root.hex(), "treeSize": 1},
                "signedEntryTimestamp": _b64(set_sig),
            },
        }}

    # -- trust ----------------------------------------------------------------------------
    def trusted_root(self) -> dict:
        start = {"start": "2020-01-01T00:00:00Z"}

        def tlog(key, url):
            return {"baseUrl": url, "hashAlgorithm": "SHA2_256",
                    "publicKey": {"rawBytes": _b64(_spki(key.public_key())),
                                  "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": start},
                    "logId": {"keyId": _b64(_key_id(key.public_key()))}}

        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [tlog(self.rekor_key, self.url)],
            "certificateAuthorities": [{
                "subject": {"organization": "llm360-test", "commonName": "llm360-test-fulcio"},
                "uri": self.url,
                "certChain": {"certificates": [
                    {"rawBytes": _b64(self.ca_cert.public_bytes(serialization.Encoding.DER))}]},
                "validFor": start}],
            "ctlogs": [tlog(self.ct_key, self.url + "/ct")],
            "timestampAuthorities": [],
        }

    def trust_config(self) -> dict:
        service = {"url": self.url, "majorApiVersion": 1,
                   "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "llm360-test"}
        return {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root(),
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [service], "oidcUrls": [dict(service, url=self.url + "/oauth")],
                "rekorTlogUrls": [service], "tsaUrls": [],
                "rekorTlogConfig": {"selector": "ANY"}, "tsaConfig": {"selector": "ANY"},
            },
        }

    # -- HTTP -----------------------------------------------------------------------------
    def start(self) -> FakeSigstore:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, data: dict) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                try:
                    if self.path == "/api/v2/signingCert":
                        token = self.headers["Authorization"].split(" ", 1)[1]
                        csr = base64.b64decode(body["certificateSigningRequest"])
                        chain = fake.issue(csr, token)
                        self._send(200, {"signedCertificateEmbeddedSct": {
                            "chain": {"certificates": chain}}})
                    elif self.path == "/api/v1/log/entries":
                        self._send(201, fake.log_entry(body))
                    else:
                        self._send(404, {"message": f"no {self.path}"})
                except Exception as exc:  # noqa: BLE001 - report to the client
                    self._send(400, {"message": f"{type(exc).__name__}: {exc}"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
