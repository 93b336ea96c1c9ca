package parquetio

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/flavabeam/flavabeam/io/parquetio/internal/pqrows"
	"github.com/flavabeam/flavabeam/schemas"
)

func init() {
	register.DoFn2x0[beam.T, func(int, beam.T)](&shardFn{})
	register.DoFn2x0[[]byte, func(int, int)](&shardIndexFn{})
	register.DoFn5x1[context.Context, int, func(*int) bool, func(*beam.T) bool, func(string), error](&writeFn{})
	register.Emitter2[int, beam.T]()
	register.Emitter2[int, int]()
	register.Iter1[int]()
	register.Iter1[beam.T]()
}

// writable lists the record types Write accepts, by the name writeFn carries.
var writable = map[reflect.Type]string{
	reflect.TypeOf(schemas.ImageText{}):  "ImageText",
	reflect.TypeOf(schemas.Embedding{}):  "Embedding",
	reflect.TypeOf(schemas.Score{}):      "Score",
	reflect.TypeOf(schemas.MIMLabel{}):   "MIMLabel",
	reflect.TypeOf(schemas.DeadLetter{}): "DeadLetter",
}

// ShardName returns the file name of shard i of n: prefix-SSSSS-of-NNNNN.parquet.
func ShardName(prefix string, i, n int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.parquet", prefix, i, n)
}

// Write writes col, a PCollection of schemas.ImageText, Embedding, Score,
// MIMLabel or DeadLetter, to opts.NumShards files named
// ShardName(prefix, i, n). Records go to the shard given by a hash of their
// ID. It returns the PCollection of written file names. It is meant for
// bounded input in the global window (batch pipelines): the shards are
// formed by a CoGroupByKey with an Impulse, which never fires for an
// unbounded, unwindowed stream; stream outputs go to kafkaio instead. An unsupported
// element type or invalid options panic at construction; an I/O error fails
// the shard's bundle, which the runner retries (the temp-then-rename write
// makes a retry safe).
func Write(s beam.Scope, prefix string, col beam.PCollection, opts WriteOptions) beam.PCollection {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	kind, ok := writable[col.Type().Type()]
	if !ok {
		panic(fmt.Sprintf("parquetio.Write: unsupported element type %v", col.Type()))
	}
	s = s.Scope("parquetio.Write")
	n := opts.shards()
	keyed := beam.ParDo(s, &shardFn{NumShards: n}, col)
	shards := beam.ParDo(s, &shardIndexFn{NumShards: n}, beam.Impulse(s))
	grouped := beam.CoGroupByKey(s, shards, keyed)
	return beam.ParDo(s, &writeFn{Prefix: prefix, Kind: kind, Options: opts}, grouped)
}

func recordID(v any) string {
	switch r := v.(type) {
	case schemas.ImageText:
		return r.ID
	case schemas.Embedding:
		return r.ID
	case schemas.Score:
		return r.ID
	case schemas.MIMLabel:
		return r.ID
	case schemas.DeadLetter:
		return r.ID
	}
	return ""
}

// shardFn keys each record by its shard: FNV-1a of the ID modulo NumShards.
type shardFn struct {
	NumShards int
}

func (f *shardFn) ProcessElement(v beam.T, emit func(int, beam.T)) {
	h := fnv.New32a()
	io.WriteString(h, recordID(v))
	emit(int(h.Sum32()%uint32(f.NumShards)), v)
}

// shardIndexFn emits every shard index once, so every shard file is
// written even when no record hashes to it.
type shardIndexFn struct {
	NumShards int
}

func (f *shardIndexFn) ProcessElement(_ []byte, emit func(int, int)) {
	for i := 0; i < f.NumShards; i++ {
		emit(i, i)
	}
}

// writeFn writes one shard.
type writeFn struct {
	Prefix  string
	Kind    string
	Options WriteOptions
}

func (f *writeFn) ProcessElement(ctx context.Context, shard int, _ func(*int) bool, rows func(*beam.T) bool, emit func(string)) error {
	path := ShardName(f.Prefix, shard, f.Options.shards())
	var err error
	switch f.Kind {
	case "ImageText":
		err = writeShard[schemas.ImageText](ctx, path, rows, f.Options)
	case "Embedding":
		err = writeShard[schemas.Embedding](ctx, path, rows, f.Options)
	case "Score":
		err = writeShard[schemas.Score](ctx, path, rows, f.Options)
	case "MIMLabel":
		err = writeShard[schemas.MIMLabel](ctx, path, rows, f.Options)
	case "DeadLetter":
		err = writeShard[schemas.DeadLetter](ctx, path, rows, f.Options)
	default:
		return fmt.Errorf("parquetio.Write: unknown record kind %q", f.Kind)
	}
	if err != nil {
		return fmt.Errorf("parquetio.Write %s: %w", path, err)
	}
	emit(path)
	return nil
}

func writeShard[T any](ctx context.Context, path string, rows func(*beam.T) bool, opts WriteOptions) error {
	return writeAtomically(ctx, path, func(w io.Writer) error {
		return writeRows[T](w, func(yield func(T) bool) {
			var v beam.T
			for rows(&v) {
				if !yield(v.(T)) {
					return
				}
			}
		}, opts)
	})
}

// writeRows writes the records of seq as one Parquet file to w.
func writeRows[T any](w io.Writer, seq func(yield func(T) bool), opts WriteOptions) error {
	return pqrows.WriteRows[T](w, seq, opts.writerOptions()...)
}
