package http

import (
	"net/http/httptest"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestLazyFields: req.query and req.headers are made when first
// read, with the values the eager version had, and a request frozen
// before that gives frozen dicts.
func TestRequestLazyFields(t *testing.T) {
	for _, freeze := range []bool{false, true} {
		r := httptest.NewRequest("GET", "/p?a=1&a=2&b=x%20y&bad=%zz", nil)
		r.Header.Set("X-Thing", "one")
		r.Header.Add("X-Thing", "two")
		req := newRequest(r, &exchange{r: r})
		assert.Nil(t, req.query)
		assert.Nil(t, req.headers)
		if freeze {
			req.Freeze()
		}
		qv, err := req.Attr("query")
		require.NoError(t, err)
		q := qv.(*starlark.Dict)
		assert.Equal(t, 2, q.Len(), "a malformed pair is dropped, as URL.Query does")
		a, _, _ := q.Get(starlark.String("a"))
		b, _, _ := q.Get(starlark.String("b"))
		assert.Equal(t, starlark.String("1"), a, "the first value")
		assert.Equal(t, starlark.String("x y"), b)
		hv, err := req.Attr("headers")
		require.NoError(t, err)
		h := hv.(*starlark.Dict)
		got, _, _ := h.Get(starlark.String("x-thing"))
		assert.Equal(t, starlark.String("one, two"), got)
		again, _ := req.Attr("query")
		assert.Same(t, q, again.(*starlark.Dict), "made once")
		err = q.SetKey(starlark.String("c"), starlark.None)
		err2 := h.SetKey(starlark.String("c"), starlark.None)
		if freeze {
			assert.ErrorContains(t, err, "frozen")
			assert.ErrorContains(t, err2, "frozen")
		} else {
			assert.NoError(t, err)
			assert.NoError(t, err2)
		}
	}
}
