package mongo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	rsmongo "github.com/melaka-gov/ispeks/infra/readstore/mongo"
	"github.com/melaka-gov/ispeks/infra/readstore/readstoretest"
	"github.com/melaka-gov/ispeks/projections"
)

const uriEnv = "ISPEKS_TEST_MONGO_URI"

func mongoURI(t *testing.T) string {
	t.Helper()
	uri := os.Getenv(uriEnv)
	if uri == "" {
		t.Skip(uriEnv + " is not set: run the MongoDB read-store suite with scripts/test, which starts a Mongo-wire server " +
			"(or eval \"$(scripts/start-ferretdb)\" first, or point " + uriEnv + " at a MongoDB, e.g. mongodb://127.0.0.1:27017/)")
	}
	return uri
}

// scratchDB returns the test server's URI, a new database name beginning
// with prefix, and a client of the server; the database is dropped when the
// test ends.
func scratchDB(t *testing.T, prefix string) (uri, db string, admin *mongo.Client) {
	t.Helper()
	uri = mongoURI(t)
	db = prefix + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	admin, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.Database(db).Drop(context.Background())
		_ = admin.Disconnect(context.Background())
	})
	return uri, db, admin
}

func TestContract(t *testing.T) {
	uri := mongoURI(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	run := hex.EncodeToString(rnd[:])

	admin, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Disconnect(context.Background()) })

	readstoretest.Run(t, func(t *testing.T) projections.ReadStore {
		// One database per test, the same for every open in that test.
		h := fnv.New32a()
		h.Write([]byte(t.Name()))
		db := "rs_" + run + "_" + strconv.FormatUint(uint64(h.Sum32()), 36)
		s, err := rsmongo.OpenWith(context.Background(), uri, db, rsmongo.Options{
			CatalogTTL: 20 * time.Millisecond,
			DropDelay:  100 * time.Millisecond,
		})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = admin.Database(db).Drop(ctx)
		})
		return s
	})
}
