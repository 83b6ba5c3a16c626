// pgx v4 driver features issue 12 made pass (run by tests/client_matrix.rs
// beside tests/drivers/go/pgx_driver.go).
// Each prints "ok …" once the item it waits for is in; see
// tests/client_matrix.rs. Build it as tests/client_matrix.rs builds
// pgx_driver.go (GO111MODULE=off, GOPATH=/usr/share/gocode).
//
// Usage: pgx_features ANALYTICS_URL TOKEN_URL
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v4"
)

var ctx = context.Background()

func check(name string, f func() (string, error)) {
	out, err := f()
	if err != nil {
		fmt.Printf("%s: %s\n", name, strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	fmt.Printf("%s: ok %s\n", name, out)
}

func main() {
	analyticsURL, tokenURL := os.Args[1], os.Args[2]
	// Item 2: BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE.
	check("BeginTx deferrable", func() (string, error) {
		conn, err := pgx.Connect(ctx, analyticsURL)
		if err != nil {
			return "", err
		}
		defer conn.Close(ctx)
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{
			IsoLevel: pgx.Serializable, AccessMode: pgx.ReadOnly, DeferrableMode: pgx.Deferrable})
		if err != nil {
			return "", err
		}
		var d string
		if err := tx.QueryRow(ctx, "SHOW transaction_deferrable").Scan(&d); err != nil {
			return "", err
		}
		return d, tx.Commit(ctx)
	})
	// Item 9: a capped write in an explicit transaction over the extended
	// protocol, BEGIN acknowledged first (write_cap_in_transaction today).
	check("capped write in a transaction", func() (string, error) {
		conn, err := pgx.Connect(ctx, tokenURL)
		if err != nil {
			return "", err
		}
		defer conn.Close(ctx)
		tx, err := conn.Begin(ctx)
		if err != nil {
			return "", err
		}
		tag, err := tx.Exec(ctx, "UPDATE orders SET notes = NULL WHERE id = $1 AND customer_id = $2", 129, 42)
		if err != nil {
			tx.Rollback(ctx)
			return "", err
		}
		return fmt.Sprint(tag.RowsAffected()), tx.Commit(ctx)
	})
	// Item 8: a named cursor (DECLARE … CURSOR FOR, FETCH, CLOSE).
	check("named cursor", func() (string, error) {
		conn, err := pgx.Connect(ctx, analyticsURL)
		if err != nil {
			return "", err
		}
		defer conn.Close(ctx)
		tx, err := conn.Begin(ctx)
		if err != nil {
			return "", err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "DECLARE c CURSOR FOR SELECT id FROM orders ORDER BY id"); err != nil {
			return "", err
		}
		rows, err := tx.Query(ctx, "FETCH 10 FROM c")
		if err != nil {
			return "", err
		}
		n := 0
		for rows.Next() {
			n++
		}
		if rows.Err() != nil {
			return "", rows.Err()
		}
		_, err = tx.Exec(ctx, "CLOSE c")
		return fmt.Sprint(n), err
	})
}
