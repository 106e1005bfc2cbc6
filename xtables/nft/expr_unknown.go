package nft

// Unknown is an expression hostwall does not model (ct, reject, notrack,
// a payload write...) or one with attributes outside its model. Data is
// the content of NFTA_EXPR_DATA, byte for byte; nil when the expression
// had no NFTA_EXPR_DATA at all (notrack, for one), which differs from an
// empty one.
type Unknown struct {
	Name string
	Data []byte
}

func (e *Unknown) exprName() string { return e.Name }

func (e *Unknown) data() ([]byte, error) { return e.Data, nil }
