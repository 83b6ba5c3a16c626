// pgjdbc through actgate (tests/client_matrix.rs): as the analytics agent
// with the driver's defaults, with prepareThreshold=1 and with
// readOnlyMode=always; then as the support-bot token agent. Prints one line
// per check; the test compares the output exactly.
//
// Usage: java -cp postgresql.jar:DIR JdbcDriver HOST PORT DATABASE TOKEN

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.postgresql.PGStatement;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

public class JdbcDriver {
    static String base;

    static Connection connect(String user, String password, String... options) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        for (int i = 0; i + 1 < options.length; i += 2) {
            props.setProperty(options[i], options[i + 1]);
        }
        return DriverManager.getConnection(base, props);
    }

    static Connection analytics(String... options) throws SQLException {
        return connect("analytics", "analytics-demo-secret", options);
    }

    static long one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** A refusal as the application sees it: SQLState, the reason in DETAIL, a HINT. */
    static String refusal(SQLException e) {
        if (!(e instanceof PSQLException)) {
            return "not a PSQLException: " + e;
        }
        ServerErrorMessage m = ((PSQLException) e).getServerErrorMessage();
        if (m == null) {
            return "no server error message: " + e;
        }
        String detail = m.getDetail() == null ? "" : m.getDetail();
        String reason = detail.startsWith("reason: ") ? detail.substring(8).split(";")[0] : "?" + detail;
        return e.getSQLState() + " reason: " + reason
            + " message: " + (m.getMessage() != null && m.getMessage().startsWith("actgate"))
            + " hint: " + (m.getHint() != null && !m.getHint().isEmpty());
    }

    static String refused(Connection c, String sql) {
        try (Statement s = c.createStatement()) {
            s.executeQuery(sql).close();
            return "not refused";
        } catch (SQLException e) {
            return refusal(e);
        }
    }

    static void defaults() throws SQLException {
        try (Connection c = analytics()) {
            DatabaseMetaData md = c.getMetaData();
            System.out.println("connected: " + md.getDatabaseProductName() + " "
                + (md.getDatabaseMajorVersion() >= 12) + " " + md.getDriverName());
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery(
                     "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status")) {
                StringBuilder sb = new StringBuilder("aggregate:");
                while (rs.next()) {
                    sb.append(' ').append(rs.getString(1)).append('=').append(rs.getLong(2));
                }
                System.out.println(sb);
            }
            // Reused past the default prepareThreshold (5): server-prepared.
            try (PreparedStatement ps = c.prepareStatement(
                     "SELECT count(*) FROM orders WHERE status = ? AND total_cents > ?")) {
                List<Long> counts = new ArrayList<>();
                String[] statuses = {"paid", "shipped", "pending", "delivered", "paid", "refunded", "paid"};
                for (String st : statuses) {
                    ps.setString(1, st);
                    ps.setInt(2, 0);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        counts.add(rs.getLong(1));
                    }
                }
                System.out.println("prepared: " + counts + " server-prepared="
                    + ps.unwrap(PGStatement.class).isUseServerPrepare());
            }
            metadata(c.getMetaData());
            System.out.println("denied: " + refused(c, "SELECT password_hash FROM staff_users"));
            System.out.println("after denial: " + one(c, "SELECT count(*) FROM orders"));

            c.setAutoCommit(false);
            long refunds = one(c, "SELECT count(*) FROM refunds");
            c.commit();
            System.out.println("transaction: " + (refunds > 0));
            try {
                one(c, "SELECT 1 / (count(*) - count(*)) FROM orders");
                System.out.println("error: none");
            } catch (SQLException e) {
                System.out.println("error in transaction: " + e.getSQLState());
            }
            c.rollback();
            System.out.println("after rollback: " + one(c, "SELECT count(*) FROM products"));
            System.out.println("denied in transaction: "
                + refused(c, "SELECT card_token FROM payment_methods"));
            c.rollback();
            // Streaming: a fetch size in a transaction reads through a portal
            // in batches.
            try (PreparedStatement ps = c.prepareStatement(
                     "SELECT id FROM orders WHERE total_cents >= ? ORDER BY id")) {
                ps.setFetchSize(7);
                ps.setInt(1, 0);
                long rows = 0;
                long sum = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows++;
                        sum += rs.getLong(1);
                    }
                }
                System.out.println("streamed: " + rows + " rows, sum " + sum);
            }
            c.commit();
            c.setAutoCommit(true);
            System.out.println("still usable: " + one(c, "SELECT 1"));
        }
    }

    static void metadata(DatabaseMetaData md) throws SQLException {
        StringBuilder tables = new StringBuilder("tables:");
        try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
            while (rs.next()) {
                tables.append(' ').append(rs.getString("TABLE_NAME"));
            }
        }
        System.out.println(tables);
        StringBuilder cols = new StringBuilder("orders columns:");
        try (ResultSet rs = md.getColumns(null, "public", "orders", "%")) {
            while (rs.next()) {
                cols.append(' ').append(rs.getString("COLUMN_NAME")).append(':').append(rs.getString("TYPE_NAME"));
            }
        }
        System.out.println(cols);
        StringBuilder pk = new StringBuilder("orders primary key:");
        try (ResultSet rs = md.getPrimaryKeys(null, "public", "orders")) {
            while (rs.next()) {
                pk.append(' ').append(rs.getString("COLUMN_NAME"));
            }
        }
        System.out.println(pk);
        StringBuilder idx = new StringBuilder("orders indexes:");
        try (ResultSet rs = md.getIndexInfo(null, "public", "orders", false, false)) {
            while (rs.next()) {
                idx.append(' ').append(rs.getString("INDEX_NAME")).append('(').append(rs.getString("COLUMN_NAME")).append(')');
            }
        }
        System.out.println(idx);
    }

    static void prepareThresholdOne() throws SQLException {
        try (Connection c = analytics("prepareThreshold", "1");
             PreparedStatement ps = c.prepareStatement(
                 "SELECT sum(quantity) FROM order_items WHERE order_id <= ?")) {
            List<Long> sums = new ArrayList<>();
            for (int id : new int[] {10, 20, 10}) {
                ps.setInt(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    sums.add(rs.getLong(1));
                }
            }
            System.out.println("prepareThreshold=1: " + (sums.get(0).equals(sums.get(2)))
                + " " + (sums.get(1) >= sums.get(0)) + " server-prepared="
                + ps.unwrap(PGStatement.class).isUseServerPrepare());
            System.out.println("denied prepared: " + refusedPrepared(c));
            System.out.println("after denial: " + one(c, "SELECT count(*) FROM refunds"));
        }
    }

    static String refusedPrepared(Connection c) {
        try (PreparedStatement ps = c.prepareStatement(
                 "SELECT email FROM customers WHERE id = ?")) {
            ps.setInt(1, 1);
            ps.executeQuery().close();
            return "not refused";
        } catch (SQLException e) {
            return refusal(e);
        }
    }

    static String show(Connection c, String name) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The driver's read-only modes for the read-only analytics agent. */
    static void readOnly() throws SQLException {
        // readOnlyMode=transaction (the default): BEGIN READ ONLY.
        try (Connection c = analytics()) {
            c.setReadOnly(true);
            c.setAutoCommit(false);
            long n = one(c, "SELECT count(*) FROM customers");
            System.out.println("read-only transaction: " + show(c, "transaction_read_only") + " " + (n > 0));
            c.commit();
        }
        // readOnlyMode=always: SET SESSION CHARACTERISTICS AS TRANSACTION
        // READ ONLY, which only narrows what actgate pins.
        try (Connection c = analytics("readOnlyMode", "always")) {
            c.setReadOnly(true);
            System.out.println("readOnlyMode=always: " + c.isReadOnly() + " "
                + show(c, "default_transaction_read_only") + " "
                + one(c, "SELECT count(*) FROM orders WHERE status = 'shipped'"));
            System.out.println("read-only session: " + show(c, "transaction_read_only") + " "
                + one(c, "SELECT count(*) FROM refunds"));
        }
    }

    /** The support-bot token agent: read-only session, scoped reads, a scope refusal, a capped write. */
    static void tokenAgent(String token) throws SQLException {
        try (Connection c = connect("support-bot", token, "readOnlyMode", "always")) {
            c.setReadOnly(true);
            System.out.println("token read-only: " + show(c, "default_transaction_read_only") + " "
                + one(c, "SELECT count(*) FROM orders WHERE customer_id = 42"));
            try (PreparedStatement ps = c.prepareStatement(
                     "SELECT count(*) FROM orders WHERE customer_id = ?")) {
                List<Long> counts = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    ps.setLong(1, 42);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        counts.add(rs.getLong(1));
                    }
                }
                System.out.println("token agent: " + counts);
            }
            System.out.println("token denied: "
                + refused(c, "SELECT count(*) FROM orders WHERE customer_id = 7"));
            System.out.println("token after denial: "
                + one(c, "SELECT count(*) FROM customers WHERE id = 42"));
        }
        // A capped write (max_affected_rows) in autocommit, extended protocol.
        try (Connection c = connect("support-bot", token);
             PreparedStatement ps = c.prepareStatement(
                 "UPDATE orders SET notes = ? WHERE id = ? AND customer_id = ?")) {
            ps.setNull(1, java.sql.Types.VARCHAR);
            ps.setLong(2, 24);
            ps.setLong(3, 42);
            System.out.println("token write: " + ps.executeUpdate());
            ps.setNull(1, java.sql.Types.VARCHAR);
            ps.setLong(2, 25);
            ps.setLong(3, 42);
            System.out.println("token write elsewhere: " + ps.executeUpdate());
            // The same in an explicit transaction.
            c.setAutoCommit(false);
            ps.setNull(1, java.sql.Types.VARCHAR);
            ps.setLong(2, 24);
            ps.setLong(3, 42);
            int n = ps.executeUpdate();
            c.commit();
            System.out.println("token write in transaction: " + n);
        }
    }

    public static void main(String[] args) throws Exception {
        base = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/" + args[2];
        defaults();
        prepareThresholdOne();
        readOnly();
        tokenAgent(args[3]);
        System.out.println("closed");
    }
}
