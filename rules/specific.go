package rules

import (
	"cmp"
	"strings"
)

// How specific a URL pattern is, for ordering a generated catalogue,
// where the most specific rule wins.
type specificity struct {
	kind    int // 0 an exact host, 1 a wildcard host, 2 any host
	labels  int // more labels is more specific
	hostLen int
	pathLen int
}

func (p *urlPattern) specificity() specificity {
	s := specificity{kind: 0, hostLen: len(p.host), labels: strings.Count(p.host, ".") + 1}
	switch {
	case p.anyHost:
		s.kind, s.labels = 2, 0
	case p.wildcard:
		s.kind = 1
	}
	for _, seg := range p.path {
		s.pathLen += len(seg)
	}
	return s
}

// compare orders more specific first.
func (a specificity) compare(b specificity) int {
	if c := cmp.Compare(a.kind, b.kind); c != 0 {
		return c
	}
	if c := cmp.Compare(b.labels, a.labels); c != 0 {
		return c
	}
	if c := cmp.Compare(b.hostLen, a.hostLen); c != 0 {
		return c
	}
	return cmp.Compare(b.pathLen, a.pathLen)
}

// compareCookieSpecificity orders cookie patterns more specific first: an
// exact name before a pattern, then the longer literal prefix, then the
// longer pattern.
func compareCookieSpecificity(a, b string) int {
	ia, ib := strings.IndexByte(a, '*'), strings.IndexByte(b, '*')
	if (ia < 0) != (ib < 0) {
		if ia < 0 {
			return -1
		}
		return 1
	}
	if ia >= 0 {
		if c := cmp.Compare(ib, ia); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(b), len(a))
}

// prefixTrie finds the cookie rules of the form "prefix*" that match a
// name by walking the name once, whatever the number of rules: the
// catalogue has hundreds.
type prefixTrie struct {
	nodes []trieNode // nodes[0] is the root, once anything was added
}

type trieNode struct {
	cookie *Cookie // the first rule whose prefix ends here
	labels []byte  // the next byte of each child
	next   []int32 // the child's index in nodes
}

func (t *prefixTrie) add(prefix string, c *Cookie) {
	if len(t.nodes) == 0 {
		t.nodes = append(t.nodes, trieNode{})
	}
	n := int32(0)
	for i := 0; i < len(prefix); i++ {
		k := strings.IndexByte(string(t.nodes[n].labels), prefix[i])
		if k < 0 {
			t.nodes = append(t.nodes, trieNode{})
			child := int32(len(t.nodes) - 1)
			t.nodes[n].labels = append(t.nodes[n].labels, prefix[i])
			t.nodes[n].next = append(t.nodes[n].next, child)
			n = child
			continue
		}
		n = t.nodes[n].next[k]
	}
	if t.nodes[n].cookie == nil {
		t.nodes[n].cookie = c // rules are added in order: keep the first
	}
}

// match returns the rule with the lowest order among those whose prefix
// starts name, or nil.
func (t *prefixTrie) match(name string) *Cookie {
	if len(t.nodes) == 0 {
		return nil
	}
	var best *Cookie
	n := &t.nodes[0]
	for i := 0; ; i++ {
		if c := n.cookie; c != nil && (best == nil || c.order < best.order) {
			best = c
		}
		if i == len(name) {
			return best
		}
		k := -1
		for j, l := range n.labels {
			if l == name[i] {
				k = j
				break
			}
		}
		if k < 0 {
			return best
		}
		n = &t.nodes[n.next[k]]
	}
}
