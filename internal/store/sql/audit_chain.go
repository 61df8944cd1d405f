package sqlstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// The audit hash chain. An entry's hash is
//
//	hex(sha256(prevHash || canonicalJSON(entry)))
//
// where prevHash is the hex hash of the entry before it ("" for the first one) and the
// canonical JSON is the object {"seq","time","actor","onBehalfOf","source","action",
// "target","details"} in that order, time in RFC 3339 with nanoseconds in UTC and
// details as stored (compact, keys sorted). Those are exactly the fields ListAudit
// returns, so anyone holding the entries can re-verify the chain. Including seq binds
// every entry to its position: swapping rows breaks the chain.

// Problems VerifyAudit reports for the first entry that does not verify.
const (
	ProblemEdited    = "edited: the entry does not match its hash"
	ProblemMissing   = "missing: entries were deleted before this point"
	ProblemReordered = "reordered: the entry is not where the chain put it"
)

// chainFields are the hashed fields of an entry.
type chainFields struct {
	Seq        int64           `json:"seq"`
	Time       string          `json:"time"`
	Actor      string          `json:"actor"`
	OnBehalfOf string          `json:"onBehalfOf"`
	Source     string          `json:"source"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	Details    json.RawMessage `json:"details"`
}

// chainHash returns the hash of an entry given the hash of its predecessor. It fails
// only when details is not valid JSON.
func chainHash(prevHash string, seq int64, at time.Time, actor, onBehalfOf, source, action, target, details string) (string, error) {
	b, err := json.Marshal(chainFields{
		Seq:        seq,
		Time:       at.UTC().Format(time.RFC3339Nano),
		Actor:      actor,
		OnBehalfOf: onBehalfOf,
		Source:     source,
		Action:     action,
		Target:     target,
		Details:    json.RawMessage(details),
	})
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(prevHash))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// chainRow is a stored audit row as the verifier sees it.
type chainRow struct {
	Seq        int64
	At         time.Time
	Actor      string
	OnBehalfOf string
	Source     string
	Action     string
	Target     string
	Details    string
	PrevHash   string
	Hash       string
}

func (r chainRow) computedHash() (string, error) {
	return chainHash(r.PrevHash, r.Seq, r.At, r.Actor, r.OnBehalfOf, r.Source, r.Action, r.Target, r.Details)
}

// chainVerifier re-walks the chain row by row, in seq order. It is pure: the caller
// feeds it rows and answers whether a hash belongs to some stored entry (which tells a
// reordered chain from a shortened one).
type chainVerifier struct {
	hashExists func(hash string) (bool, error)

	entries  int64
	lastSeq  int64
	lastHash string
	firstBad *int64
	problem  string
}

func (v *chainVerifier) fail(seq int64, problem string) {
	v.firstBad, v.problem = &seq, problem
}

// add checks the next row. After the first bad row it only counts.
func (v *chainVerifier) add(r chainRow) error {
	v.entries++
	if v.firstBad != nil {
		return nil
	}
	defer func() { v.lastSeq, v.lastHash = r.Seq, r.Hash }()
	if want := v.lastSeq + 1; r.Seq != want {
		v.fail(want, ProblemMissing)
		return nil
	}
	if r.PrevHash != v.lastHash {
		elsewhere, err := v.hashExists(r.PrevHash)
		if err != nil {
			return err
		}
		if elsewhere {
			v.fail(r.Seq, ProblemReordered)
		} else if h, err := r.computedHash(); err == nil && h == r.Hash {
			// The entry is intact but its predecessor is gone.
			v.fail(r.Seq, ProblemMissing)
		} else {
			v.fail(r.Seq, ProblemEdited)
		}
		return nil
	}
	if h, err := r.computedHash(); err != nil || h != r.Hash {
		v.fail(r.Seq, ProblemEdited)
	}
	return nil
}

// finish compares the end of the walk with the chain head: entries deleted from the
// end leave the head ahead of the last row.
func (v *chainVerifier) finish(headSeq int64, headHash string) {
	if v.firstBad != nil {
		return
	}
	switch {
	case v.lastSeq < headSeq:
		v.fail(v.lastSeq+1, ProblemMissing)
	case v.lastSeq > headSeq:
		// Rows past the head were not appended by the store.
		v.fail(headSeq+1, ProblemEdited)
	case v.lastHash != headHash:
		v.fail(v.lastSeq, ProblemEdited)
	}
}
