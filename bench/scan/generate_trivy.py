#!/usr/bin/env python3
"""Writes a realistic Trivy JSON report (schema version 2) of about --mb megabytes.

The shape and field sizes follow `trivy image --format json` on a large image: one
OS-package result, then language-package results (jars, node_modules lock files, Go
binaries), each vulnerability with the full NVD payload Trivy includes (description,
CVSS vectors, vendor severities, 5-15 references, layer digests). Descriptions carry
escapes (quotes, newlines) as real ones do. The same seed gives the same file.
"""

import argparse
import json
import random

SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
WEIGHTS = [4, 18, 45, 28, 5]
WORDS = (
    "a remote attacker could cause denial of service via crafted input to the parser "
    "heap buffer overflow in the function when handling malformed certificates allows "
    "out-of-bounds read memory corruption use-after-free integer overflow leading to "
    "arbitrary code execution information disclosure through timing side channel in the "
    "TLS handshake before version allows authenticated users to bypass access checks"
).split()
LANG = [
    ("lang-pkgs", "jar", "opt/app/lib/{}.jar", "pkg:maven/org.example/{}@{}"),
    ("lang-pkgs", "node-pkg", "usr/src/app/node_modules/{}/package.json", "pkg:npm/{}@{}"),
    ("lang-pkgs", "gobinary", "usr/local/bin/{}", "pkg:golang/github.com/example/{}@v{}"),
    ("lang-pkgs", "python-pkg", "usr/lib/python3.11/site-packages/{}.dist-info/METADATA", "pkg:pypi/{}@{}"),
]


def sentence(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def digest(rng):
    return "sha256:" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def vulnerability(rng, n, pkg, version, purl, path):
    year = rng.randint(2014, 2025)
    vid = f"CVE-{year}-{rng.randint(1000, 99999)}"
    severity = rng.choices(SEVERITIES, WEIGHTS)[0]
    fixed = rng.random() < 0.7
    description = (
        sentence(rng, 40, 120).capitalize()
        + '. See "upstream advisory" for details.\n'
        + sentence(rng, 10, 40)
        + "."
    )
    v = {
        "VulnerabilityID": vid,
        "PkgID": f"{pkg}@{version}",
        "PkgName": pkg,
        "PkgIdentifier": {"PURL": purl, "UID": f"{rng.getrandbits(64):016x}"},
        "InstalledVersion": version,
        "Status": "fixed" if fixed else rng.choice(["affected", "will_not_fix", "fix_deferred"]),
        "Layer": {"Digest": digest(rng), "DiffID": digest(rng)},
        "SeveritySource": rng.choice(["nvd", "debian", "ghsa", "redhat"]),
        "PrimaryURL": f"https://avd.aquasec.com/nvd/{vid.lower()}",
        "DataSource": {
            "ID": "debian",
            "Name": "Debian Security Tracker",
            "URL": "https://salsa.debian.org/security-tracker-team/security-tracker",
        },
        "Title": sentence(rng, 5, 14),
        "Description": description,
        "Severity": severity,
        "CweIDs": [f"CWE-{rng.randint(20, 1000)}" for _ in range(rng.randint(1, 2))],
        "VendorSeverity": {"nvd": rng.randint(1, 4), "redhat": rng.randint(1, 4), "ghsa": rng.randint(1, 4)},
        "CVSS": {
            "nvd": {
                "V2Vector": "AV:N/AC:L/Au:N/C:P/I:P/A:P",
                "V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "V2Score": round(rng.uniform(1, 10), 1),
                "V3Score": round(rng.uniform(1, 10), 1),
            },
            "redhat": {
                "V3Vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H",
                "V3Score": round(rng.uniform(1, 10), 1),
            },
        },
        "References": [
            f"https://{rng.choice(['access.redhat.com/security/cve', 'nvd.nist.gov/vuln/detail', 'ubuntu.com/security', 'security-tracker.debian.org/tracker', 'github.com/advisories'])}/{vid}"
            for _ in range(rng.randint(5, 15))
        ],
        "PublishedDate": f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T1{rng.randint(0, 9)}:15:00Z",
        "LastModifiedDate": "2025-02-1{}T00:15:43.173Z".format(rng.randint(0, 9)),
    }
    if fixed:
        v["FixedVersion"] = f"{version}.{rng.randint(1, 9)}"
    if path:
        v["PkgPath"] = path
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    target_bytes = int(args.mb * 1024 * 1024)

    report = {
        "SchemaVersion": 2,
        "CreatedAt": "2025-03-04T10:21:33.482122Z",
        "ArtifactName": "registry.example.com/big-app:4.2.0",
        "ArtifactType": "container_image",
        "Metadata": {
            "Size": 1873612736,
            "OS": {"Family": "debian", "Name": "12.5"},
            "ImageID": digest(rng),
            "DiffIDs": [digest(rng) for _ in range(12)],
            "RepoTags": ["registry.example.com/big-app:4.2.0"],
            "ImageConfig": {"architecture": "amd64", "os": "linux"},
        },
        "Results": [],
    }
    size = 2000
    n = 0
    os_result = {
        "Target": "registry.example.com/big-app:4.2.0 (debian 12.5)",
        "Class": "os-pkgs",
        "Type": "debian",
        "Vulnerabilities": [],
    }
    report["Results"].append(os_result)
    result = os_result
    while size < target_bytes:
        # A new result every ~200 findings: OS packages first, then language packages.
        if n and n % 200 == 0:
            cls, kind, target, _ = rng.choice(LANG)
            result = {
                "Target": target.format(f"component-{n // 200}"),
                "Class": cls,
                "Type": kind,
                "Vulnerabilities": [],
            }
            report["Results"].append(result)
        pkg = f"lib{rng.choice(WORDS)}{rng.randint(1, 400)}"
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"
        if result is os_result:
            purl = f"pkg:deb/debian/{pkg}@{version}?arch=amd64&distro=debian-12.5"
            path = None
        else:
            purl = rng.choice(LANG)[3].format(pkg, version)
            path = result["Target"]
        v = vulnerability(rng, n, pkg, version, purl, path)
        result["Vulnerabilities"].append(v)
        # As written with indent=2 three levels deep: 6 more spaces on every line.
        text = json.dumps(v, indent=2)
        size += len(text) + 6 * (text.count("\n") + 1) + 2
        n += 1
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"{args.out}: {n} vulnerabilities in {len(report['Results'])} results")


if __name__ == "__main__":
    main()
