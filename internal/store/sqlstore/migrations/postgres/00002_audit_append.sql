-- audit_append appends entries to the hash-chained audit log in one call: it locks the
-- chain head, numbers the entries after it, chains their hashes and moves the head.
-- The store uses it for pipelined grant-set batches (grants_pipeline.go), so that the
-- head is locked only while the server works, never across a round trip to the client.
--
-- The hash is the one audit_chain.go defines: hex(sha256(prev_hash || canonical JSON)),
-- the canonical JSON being '{"seq":' || seq || tail, where the client sends each
-- entry's tail (everything after the number, as json.Marshal writes it) as bytes: the
-- hash never depends on the server's text encoding.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION audit_append(
    p_at bigint[], p_actor text[], p_on_behalf_of text[], p_source text[], p_action text[],
    p_target text[], p_details text[], p_user_key text[], p_agency_key text[],
    p_environment_key text[], p_tail bytea[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    head_seq  bigint;
    head_hash text;
    n         integer := coalesce(array_length(p_at, 1), 0);
    seqs      bigint[] := '{}';
    prevs     text[] := '{}';
    hashes    text[] := '{}';
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
    FOR i IN 1 .. n LOOP
        seqs := seqs || (head_seq + i);
        prevs := prevs || head_hash;
        head_hash := encode(sha256(convert_to(head_hash || '{"seq":' || (head_seq + i)::text, 'UTF8') || p_tail[i]), 'hex');
        hashes := hashes || head_hash;
    END LOOP;
    INSERT INTO audit (seq, at, actor, on_behalf_of, source, action, target, details, user_key, agency_key,
                       environment_key, prev_hash, hash)
    SELECT * FROM unnest(seqs, p_at, p_actor, p_on_behalf_of, p_source, p_action, p_target, p_details,
                         p_user_key, p_agency_key, p_environment_key, prevs, hashes);
    UPDATE audit_head SET seq = head_seq + n, hash = head_hash WHERE id = 1;
    RETURN head_seq + n;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION audit_append(bigint[], text[], text[], text[], text[], text[], text[], text[], text[], text[], bytea[]);
