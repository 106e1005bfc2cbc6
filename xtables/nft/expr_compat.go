package nft

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Match is an nft_compat xtables match. Info is the xt payload, kept
// byte for byte: the same bytes as after an x_tables xt_entry_match
// header, XT_ALIGNed as the kernel dumps them.
type Match struct {
	Name string
	Rev  uint32
	Info []byte
}

// Target is an nft_compat xtables target, its payload kept as Match's.
type Target struct {
	Name string
	Rev  uint32
	Info []byte
}

func (*Match) exprName() string  { return "match" }
func (*Target) exprName() string { return "target" }

func (e *Match) data() ([]byte, error)  { return compatData(e.Name, e.Rev, e.Info) }
func (e *Target) data() ([]byte, error) { return compatData(e.Name, e.Rev, e.Info) }

// NFTA_MATCH_* and NFTA_TARGET_* share their numbers.
func compatData(name string, rev uint32, info []byte) ([]byte, error) {
	if name == "" {
		return nil, errors.New("xtables extension without a name")
	}
	ae := exprEncoder()
	ae.String(unix.NFTA_MATCH_NAME, name)
	ae.Uint32(unix.NFTA_MATCH_REV, rev)
	ae.Bytes(unix.NFTA_MATCH_INFO, info)
	return ae.Encode()
}

func unmarshalCompat(m attrMap) (string, uint32, []byte, error) {
	if err := m.only(unix.NFTA_MATCH_NAME, unix.NFTA_MATCH_REV, unix.NFTA_MATCH_INFO); err != nil {
		return "", 0, nil, err
	}
	name, err := m.str(unix.NFTA_MATCH_NAME, "name")
	if err != nil {
		return "", 0, nil, err
	}
	if name == "" {
		return "", 0, nil, errors.New("empty name")
	}
	rev, err := m.u32(unix.NFTA_MATCH_REV, "rev")
	if err != nil {
		return "", 0, nil, err
	}
	info, ok := m[unix.NFTA_MATCH_INFO]
	if !ok {
		return "", 0, nil, errors.New("missing info")
	}
	return name, rev, append([]byte{}, info...), nil
}

func unmarshalMatch(m attrMap) (Expr, error) {
	name, rev, info, err := unmarshalCompat(m)
	if err != nil {
		return nil, err
	}
	return &Match{Name: name, Rev: rev, Info: info}, nil
}

func unmarshalTarget(m attrMap) (Expr, error) {
	name, rev, info, err := unmarshalCompat(m)
	if err != nil {
		return nil, err
	}
	return &Target{Name: name, Rev: rev, Info: info}, nil
}
