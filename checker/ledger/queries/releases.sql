-- Verifications by the release side up to the as-of time: accepted or
-- rejected with the reasons, by which release key, for which commit. An
-- unsigned or forged record is listed as not authentic and never accepted.
SELECT
    v.verified_at,
    v.accepted,
    v.authentic,
    v.verdict,
    v.commit_sha,
    v.reasons,
    v.signed_by,
    v.subjects,
    v.report_sha256
FROM verifications v
WHERE v.verified_at <= (SELECT as_of FROM ledger_params)
ORDER BY v.verified_at DESC, v.report_sha256
