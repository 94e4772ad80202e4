"""tus 1.0 conformance of the album server, checked with tuspy (an independent client)
plus raw requests for the error cases tuspy never provokes on purpose.

Usage: tus_conformance.py PATH/TO/tus_peer   (the album example that serves one album)
"""
import base64
import hashlib
import io
import json
import subprocess
import sys
import time

import requests
from tusclient import client as tus_client


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def main() -> int:
    peer = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        info = json.loads(peer.stdout.readline())
        url, token = info["upload_url"], info["upload_token"]
        auth = {"Authorization": f"Bearer {token}"}
        samples = [open(p, "rb").read() for p in info["samples"]]
        tus = {"Tus-Resumable": "1.0.0", **auth}
        checks = 0

        def check(cond, what):
            nonlocal checks
            if not cond:
                raise AssertionError(what)
            checks += 1
            print(f"ok  {what}")

        # tuspy uploads a whole file in small chunks with sha1 checksums.
        data = samples[0]
        # The album's idempotency key is BLAKE3; tuspy cannot compute it, and the server
        # computes it from the bytes when absent, so only filename goes as metadata.
        c = tus_client.TusClient(url, headers=auth)
        uploader = c.uploader(file_stream=io.BytesIO(data), chunk_size=97,
                              metadata={"filename": "tuspy.jpg"}, upload_checksum=True)
        uploader.upload()
        check(uploader.offset == len(data), "tuspy chunked upload with sha1 checksums completes")
        head = requests.head(uploader.url, headers=tus)
        check(head.status_code == 200 and head.headers["Upload-Offset"] == str(len(data)),
              "HEAD after completion reports the full offset")
        photo_id = head.headers.get("Hotshoe-Photo-Id")
        check(bool(photo_id), "completed upload names its photo")

        # Same bytes again through tuspy: the server answers with the existing photo.
        again = c.uploader(file_stream=io.BytesIO(data), chunk_size=4096,
                           metadata={"filename": "again.jpg"})
        again.upload()
        head2 = requests.head(again.url, headers=tus)
        check(head2.headers.get("Hotshoe-Photo-Id") == photo_id, "duplicate bytes map to the existing photo")

        # OPTIONS advertises the extensions.
        opt = requests.options(url)
        ext = set(opt.headers.get("Tus-Extension", "").split(","))
        check({"creation", "creation-with-upload", "termination", "checksum", "expiration"} <= ext,
              "OPTIONS lists creation, creation-with-upload, termination, checksum, expiration")

        def create(length):
            r = requests.post(url, headers={**tus, "Upload-Length": str(length),
                                            "Upload-Metadata": "filename " + b64("x.jpg")})
            return r

        other = samples[1]
        r = create(len(other))
        check(r.status_code == 201, "POST creates an upload")
        loc = r.headers["Location"]
        patch = {**tus, "Content-Type": "application/offset+octet-stream"}
        r = requests.patch(loc, headers={**patch, "Upload-Offset": "5"}, data=other[:10])
        check(r.status_code == 409, "wrong Upload-Offset is 409 Conflict")
        bad = base64.b64encode(hashlib.sha1(b"not these bytes").digest()).decode()
        r = requests.patch(loc, headers={**patch, "Upload-Offset": "0", "Upload-Checksum": "sha1 " + bad},
                           data=other[:10])
        check(r.status_code == 460, "checksum mismatch is 460")
        check(requests.head(loc, headers=tus).headers["Upload-Offset"] == "0",
              "a mismatched chunk appends nothing")
        good = base64.b64encode(hashlib.sha1(other[:10]).digest()).decode()
        r = requests.patch(loc, headers={**patch, "Upload-Offset": "0", "Upload-Checksum": "sha1 " + good},
                           data=other[:10])
        check(r.status_code == 204 and r.headers["Upload-Offset"] == "10", "a matching chunk is appended")

        r = create(2 * 1024 * 1024)
        check(r.status_code == 413, "Upload-Length over Tus-Max-Size is 413")

        r = requests.delete(loc, headers=tus)
        check(r.status_code == 204, "DELETE terminates")
        check(requests.head(loc, headers=tus).status_code in (404, 410), "a terminated upload is gone")

        r = create(len(other))
        loc = r.headers["Location"]
        check("Upload-Expires" in r.headers, "creation answers Upload-Expires")
        time.sleep(3.2)
        r = requests.patch(loc, headers={**patch, "Upload-Offset": "0"}, data=other)
        check(r.status_code in (404, 410), f"PATCH on an expired upload is 404/410 (got {r.status_code})")
        time.sleep(2.0)
        check(requests.head(loc, headers=tus).status_code == 404, "the sweeper removed the expired upload")

        r = requests.post(url, headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"})
        check(r.status_code == 401, "no token is 401")
        print(f"tus conformance: {checks} checks passed")
        return 0
    finally:
        peer.stdin.close()
        peer.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
