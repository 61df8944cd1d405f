package sqlstore

import (
	"sync/atomic"
)

var batchCount, batchWrites, batchFallback atomic.Int64

func init() {
	statHook = func(n int, err error) {
		batchCount.Add(1)
		batchWrites.Add(int64(n))
		if err != nil {
			batchFallback.Add(1)
			println("batch error:", err.Error())
		}
	}
}
