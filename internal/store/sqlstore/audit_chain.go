package sqlstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
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
	tail, err := chainTail(make([]byte, 0, 256), at, actor, onBehalfOf, source, action, target, details)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(prevHash))
	h.Write(chainHead(seq))
	h.Write(tail)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])), nil
}

// The canonical JSON of an entry is chainHead(seq) followed by its tail: seq comes
// first, so everything after it does not depend on where the entry lands in the chain
// and can be prepared before the chain head is locked (audit_append on PostgreSQL
// hashes with the tails the client computed).

// seqPrefix is how the canonical JSON starts, before the seq number.
const seqPrefix = `{"seq":`

func chainHead(seq int64) []byte { return strconv.AppendInt([]byte(seqPrefix), seq, 10) }

// chainTail appends the canonical JSON of an entry after its seq number, as
// json.Marshal of chainFields writes it. Entries whose strings need no escaping (see
// plainJSON) are written directly; the others are marshalled.
func chainTail(b []byte, at time.Time, actor, onBehalfOf, source, action, target, details string) ([]byte, error) {
	stamp := at.UTC().Format(time.RFC3339Nano)
	plain := plainJSON(details, true) && json.Valid([]byte(details))
	for _, s := range []string{stamp, actor, onBehalfOf, source, action, target} {
		plain = plain && plainJSON(s, false)
	}
	if !plain {
		full, err := json.Marshal(chainFields{Time: stamp, Actor: actor, OnBehalfOf: onBehalfOf, Source: source,
			Action: action, Target: target, Details: json.RawMessage(details)})
		if err != nil {
			return nil, err
		}
		// Seq 0 is written as the prefix and a single 0.
		return append(b, full[len(seqPrefix)+1:]...), nil
	}
	for _, f := range [...]struct{ name, value string }{
		{`,"time":"`, stamp}, {`","actor":"`, actor}, {`","onBehalfOf":"`, onBehalfOf},
		{`","source":"`, source}, {`","action":"`, action}, {`","target":"`, target},
	} {
		b = append(b, f.name...)
		b = append(b, f.value...)
	}
	b = append(b, `","details":`...)
	b = append(b, details...)
	return append(b, '}'), nil
}

// plainJSON reports whether s is printable ASCII that encoding/json copies unchanged:
// no quote, backslash or HTML-sensitive <, > and & (which it escapes), and, for
// raw JSON (details), no white space (which it compacts away).
func plainJSON(s string, raw bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '<' || c == '>' || c == '&' || (raw && c == ' ') || (!raw && (c == '"' || c == '\\')) {
			return false
		}
	}
	return true
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

// marshalDetails encodes audit details compactly with sorted keys, as json.Marshal
// does. Details of the common shapes (objects of plain strings, booleans, integers
// and such objects) are written without reflection; anything else is marshalled.
func marshalDetails(details map[string]any) (string, error) {
	if len(details) == 0 {
		return "{}", nil
	}
	if b, ok := appendPlainValue(make([]byte, 0, 96), details); ok {
		return string(b), nil
	}
	b, err := json.Marshal(details)
	return string(b), err
}

// appendPlainValue appends v as json.Marshal would, for the values it knows; false
// means "marshal it instead".
func appendPlainValue(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		if !plainJSON(v, false) {
			return nil, false
		}
		b = append(b, '"')
		b = append(b, v...)
		return append(b, '"'), true
	case bool:
		return strconv.AppendBool(b, v), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			if !plainJSON(k, false) {
				return nil, false
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, '"', ':')
			var ok bool
			if b, ok = appendPlainValue(b, v[k]); !ok {
				return nil, false
			}
		}
		return append(b, '}'), true
	}
	return nil, false
}
