// pgjdbc driver features issue 12 made pass (run by tests/client_matrix.rs
// beside tests/drivers/java/JdbcDriver.java).
// Each prints "ok" once the item it waits for is in; see
// tests/client_matrix.rs.
//
// Usage: java -cp postgresql.jar:DIR JdbcFeatures HOST PORT DATABASE TOKEN

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

public class JdbcFeatures {
    static Connection connect(String base, String user, String password, String... options)
            throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        for (int i = 0; i + 1 < options.length; i += 2) {
            props.setProperty(options[i], options[i + 1]);
        }
        return DriverManager.getConnection(base, props);
    }

    static String show(Connection c, String name) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }

    static void check(String name, Check check) {
        try {
            System.out.println(name + ": " + check.run());
        } catch (SQLException e) {
            System.out.println(name + ": " + e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
        }
    }

    interface Check {
        String run() throws SQLException;
    }

    public static void main(String[] args) {
        String base = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/" + args[2];
        // Item 6: readOnlyMode=always, then a transaction or leaving read-only
        // sends SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE (back to
        // the session's start value: refused today as setting_pinned).
        check("readOnlyMode=always then a transaction", () -> {
            try (Connection c = connect(base, "analytics", "analytics-demo-secret",
                    "readOnlyMode", "always")) {
                c.setReadOnly(true);
                c.setAutoCommit(false);
                String ro = show(c, "transaction_read_only");
                c.commit();
                c.setAutoCommit(true);
                c.setReadOnly(false);
                return "ok " + ro + " " + show(c, "default_transaction_read_only");
            }
        });
    }
}
