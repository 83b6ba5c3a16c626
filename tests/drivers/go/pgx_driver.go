// pgx v4 through actgate (tests/client_matrix.rs), built in GOPATH mode
// against Debian's golang-github-jackc-pgx-v4-dev: its default statement
// cache, statement_cache_mode=describe, prefer_simple_protocol, BeginTx
// with options, an error then rollback, a refusal, and pgxpool as the
// analytics agent and the support-bot token agent. Prints one line per
// check; the test compares the output exactly.
//
// Usage: pgx_driver ANALYTICS_URL TOKEN_URL
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgx/v4"
	"github.com/jackc/pgx/v4/pgxpool"
)

var ctx = context.Background()

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

// refusal is a refusal as pgx surfaces it: SQLSTATE, the reason in
// DETAIL, whether the message names actgate and a HINT is there.
func refusal(err error) string {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return fmt.Sprintf("not a server error: %v", err)
	}
	reason := "?"
	if strings.HasPrefix(pg.Detail, "reason: ") {
		reason = strings.SplitN(strings.TrimPrefix(pg.Detail, "reason: "), ";", 2)[0]
	}
	return fmt.Sprintf("%s reason: %s message: %v hint: %v", pg.Code, reason,
		strings.HasPrefix(pg.Message, "actgate"), pg.Hint != "")
}

func count(q interface {
	QueryRow(context.Context, string, ...interface{}) pgx.Row
}, sql string, args ...interface{}) int64 {
	var n int64
	must(q.QueryRow(ctx, sql, args...).Scan(&n), sql)
	return n
}

// modes runs the same queries in one of pgx's query modes.
func modes(url, mode string) {
	conn, err := pgx.Connect(ctx, url)
	must(err, "connect "+mode)
	defer conn.Close(ctx)
	var counts []int64
	for _, s := range []string{"paid", "shipped", "pending", "delivered", "paid", "refunded", "paid"} {
		counts = append(counts, count(conn, "SELECT count(*) FROM orders WHERE status = $1", s))
	}
	_, err = conn.Exec(ctx, "SELECT password_hash FROM staff_users WHERE id = $1", 1)
	fmt.Printf("%s: %v denied: %s after: %d\n", mode, counts, refusal(err),
		count(conn, "SELECT count(*) FROM refunds WHERE amount_cents > $1", 0))
}

func analytics(url string) {
	conn, err := pgx.Connect(ctx, url)
	must(err, "connect")
	var version string
	must(conn.QueryRow(ctx, "SHOW server_version").Scan(&version), "version")
	fmt.Printf("connected: %v\n", version != "")

	rows, err := conn.Query(ctx, "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status")
	must(err, "aggregate")
	var parts []string
	for rows.Next() {
		var s string
		var n int64
		must(rows.Scan(&s, &n), "scan")
		parts = append(parts, fmt.Sprintf("%s=%d", s, n))
	}
	must(rows.Err(), "aggregate rows")
	fmt.Printf("aggregate: %s\n", strings.Join(parts, " "))

	_, err = conn.Exec(ctx, "SELECT password_hash FROM staff_users")
	fmt.Printf("denied: %s\n", refusal(err))
	fmt.Printf("after denial: %d\n", count(conn, "SELECT count(*) FROM orders"))

	// Streaming: rows read one at a time as they arrive.
	rows, err = conn.Query(ctx, "SELECT id FROM orders WHERE total_cents >= $1 ORDER BY id", 0)
	must(err, "stream")
	var n, sum int64
	for rows.Next() {
		var id int64
		must(rows.Scan(&id), "scan")
		n++
		sum += id
	}
	must(rows.Err(), "stream rows")
	fmt.Printf("streamed: %d rows, sum %d\n", n, sum)

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	must(err, "BeginTx")
	var ro string
	must(tx.QueryRow(ctx, "SHOW transaction_read_only").Scan(&ro), "show")
	products := count(tx, "SELECT count(*) FROM products WHERE price_cents > $1", 0)
	must(tx.Commit(ctx), "commit")
	fmt.Printf("read-only repeatable read: %s %v\n", ro, products > 0)

	tx, err = conn.Begin(ctx)
	must(err, "begin")
	_, err = tx.Exec(ctx, "SELECT 1 / (count(*) - count(*)) FROM orders")
	var pg *pgconn.PgError
	errors.As(err, &pg)
	code := "none"
	if pg != nil {
		code = pg.Code
	}
	must(tx.Rollback(ctx), "rollback")
	fmt.Printf("error in transaction: %s\n", code)
	tx, err = conn.Begin(ctx)
	must(err, "begin")
	_, err = tx.Exec(ctx, "SELECT card_token FROM payment_methods WHERE customer_id = $1", 42)
	fmt.Printf("denied in transaction: %s\n", refusal(err))
	must(tx.Rollback(ctx), "rollback")
	fmt.Printf("after rollback: %d\n", count(conn, "SELECT count(*) FROM order_items WHERE order_id = $1", 1))
	must(conn.Close(ctx), "close")

	modes(url, "statement cache")
	modes(url+"?statement_cache_mode=describe", "describe")
	modes(url+"?prefer_simple_protocol=true", "simple protocol")
}

func pool(url, who string, query string, arg interface{}, denied string, deniedArg interface{}) {
	p, err := pgxpool.Connect(ctx, url+"?pool_max_conns=3")
	must(err, "pool "+who)
	defer p.Close()
	var wg sync.WaitGroup
	results := make([]int64, 6)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = count(p, query, arg)
		}(i)
	}
	wg.Wait()
	_, err = p.Exec(ctx, denied, deniedArg)
	fmt.Printf("pool %s: %v denied: %s after: %d\n", who, results, refusal(err), count(p, query, arg))
}

func main() {
	analyticsURL, tokenURL := os.Args[1], os.Args[2]
	analytics(analyticsURL)
	pool(analyticsURL, "analytics", "SELECT count(*) FROM orders WHERE status = $1", "paid",
		"SELECT email FROM customers WHERE id = $1", 1)
	pool(tokenURL, "token", "SELECT count(*) FROM orders WHERE customer_id = $1", 42,
		"SELECT count(*) FROM orders WHERE customer_id = $1", 7)

	fmt.Println("closed")
}
