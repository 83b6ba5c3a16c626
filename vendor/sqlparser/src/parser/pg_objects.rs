// actgate patch: pg_statistics, pg_publication
//! Parsing of PostgreSQL's `CREATE`/`ALTER STATISTICS` and
//! `CREATE`/`ALTER PUBLICATION` (the leading keywords are consumed by the
//! caller).

#[cfg(not(feature = "std"))]
use alloc::{boxed::Box, vec, vec::Vec};

use super::{Parser, ParserError};
use crate::ast::{
    AlterPgObjectOperation, AlterTableOperation, AlterPublication, AlterSequence, AlterSequenceOperation,
    AlterStatistics, CreatePublication,
    CreateStatistics, Ident, PublicationObject, Statement,
};
use crate::keywords::Keyword;
use crate::tokenizer::Token;

impl Parser<'_> {
    /// Whether the next token is the unquoted word `word` (for words that
    /// are no keyword of this crate); consumes it if so.
    pub(crate) fn parse_pg_word(&mut self, word: &str) -> bool {
        let hit = matches!(&self.peek_token_ref().token,
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word));
        if hit {
            self.advance_token();
        }
        hit
    }

    /// `CREATE STATISTICS …` after `STATISTICS`.
    pub(crate) fn parse_create_statistics(&mut self) -> Result<Statement, ParserError> {
        let if_not_exists = self.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
        let name = if self.peek_keyword(Keyword::ON) || self.peek_token_ref().token == Token::LParen
        {
            None
        } else {
            Some(self.parse_object_name(false)?)
        };
        let kinds = if self.consume_token(&Token::LParen) {
            let k = self.parse_comma_separated(|p| p.parse_identifier())?;
            self.expect_token(&Token::RParen)?;
            k
        } else {
            vec![]
        };
        self.expect_keyword_is(Keyword::ON)?;
        let exprs = self.parse_comma_separated(Parser::parse_expr)?;
        self.expect_keyword_is(Keyword::FROM)?;
        let table = self.parse_object_name(false)?;
        Ok(Statement::CreateStatistics(CreateStatistics {
            if_not_exists,
            name,
            kinds,
            exprs,
            table,
        }))
    }

    /// `ALTER STATISTICS …` after `STATISTICS`.
    pub(crate) fn parse_alter_statistics(&mut self) -> Result<Statement, ParserError> {
        let if_exists = self.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = self.parse_object_name(false)?;
        let operation = if self.parse_keywords(&[Keyword::SET, Keyword::STATISTICS]) {
            if self.parse_keyword(Keyword::DEFAULT) {
                AlterPgObjectOperation::SetStatistics(None)
            } else {
                AlterPgObjectOperation::SetStatistics(Some(self.parse_expr()?))
            }
        } else {
            self.parse_pg_object_common()?
        };
        Ok(Statement::AlterStatistics(AlterStatistics {
            if_exists,
            name,
            operation,
        }))
    }

    /// `RENAME TO`, `OWNER TO`, `SET SCHEMA`.
    fn parse_pg_object_common(&mut self) -> Result<AlterPgObjectOperation, ParserError> {
        if self.parse_keywords(&[Keyword::RENAME, Keyword::TO]) {
            Ok(AlterPgObjectOperation::RenameTo(self.parse_identifier()?))
        } else if self.parse_keywords(&[Keyword::OWNER, Keyword::TO]) {
            Ok(AlterPgObjectOperation::OwnerTo(self.parse_owner()?))
        } else if self.parse_keywords(&[Keyword::SET, Keyword::SCHEMA]) {
            Ok(AlterPgObjectOperation::SetSchema(self.parse_identifier()?))
        } else {
            self.expected_ref("RENAME TO, OWNER TO or SET SCHEMA", self.peek_token_ref())
        }
    }

    /// `CREATE PUBLICATION …` after `PUBLICATION`.
    pub(crate) fn parse_create_publication(&mut self) -> Result<Statement, ParserError> {
        let name = self.parse_identifier()?;
        let mut all_tables = false;
        let mut objects = vec![];
        if self.parse_keyword(Keyword::FOR) {
            if self.parse_keywords(&[Keyword::ALL, Keyword::TABLES]) {
                all_tables = true;
            } else {
                objects = self.parse_publication_objects()?;
            }
        }
        let with_options = self.parse_options(Keyword::WITH)?;
        Ok(Statement::CreatePublication(CreatePublication {
            name,
            all_tables,
            objects,
            with_options,
        }))
    }

    /// `ALTER PUBLICATION …` after `PUBLICATION`.
    pub(crate) fn parse_alter_publication(&mut self) -> Result<Statement, ParserError> {
        let name = self.parse_identifier()?;
        let operation = if self.peek_keyword(Keyword::SET)
            && self.peek_nth_token_ref(1).token == Token::LParen
        {
            AlterPgObjectOperation::SetOptions(self.parse_options(Keyword::SET)?)
        } else if self
            .parse_one_of_keywords(&[Keyword::ADD, Keyword::SET, Keyword::DROP])
            .is_some()
        {
            let current = self.get_current_token();
            let action = match &current.token {
                Token::Word(w) => Ident::with_span(current.span, w.value.to_uppercase()),
                _ => return self.expected_ref("ADD, SET or DROP", self.peek_token_ref()),
            };
            AlterPgObjectOperation::Objects {
                action,
                objects: self.parse_publication_objects()?,
            }
        } else {
            self.parse_pg_object_common()?
        };
        Ok(Statement::AlterPublication(AlterPublication { name, operation }))
    }

    /// gram.y's `pub_obj_list`: an item without `TABLE` or `TABLES IN
    /// SCHEMA` continues the kind of the item before it.
    fn parse_publication_objects(&mut self) -> Result<Vec<PublicationObject>, ParserError> {
        let mut schema_kind: Option<bool> = None;
        self.parse_comma_separated(|p| {
            let (keyword, schema) = if p.parse_keyword(Keyword::TABLE) {
                (true, false)
            } else if p.parse_keywords(&[Keyword::TABLES, Keyword::IN, Keyword::SCHEMA]) {
                (true, true)
            } else {
                match schema_kind {
                    Some(s) => (false, s),
                    None => {
                        return p.expected_ref(
                            "TABLE or TABLES IN SCHEMA",
                            p.peek_token_ref(),
                        )
                    }
                }
            };
            schema_kind = Some(schema);
            if schema {
                let name = if p.parse_keyword(Keyword::CURRENT_SCHEMA) {
                    None
                } else {
                    Some(p.parse_identifier()?)
                };
                return Ok(PublicationObject::Schema { keyword, name });
            }
            let only = p.parse_keyword(Keyword::ONLY);
            let name = p.parse_object_name(false)?;
            let star = p.consume_token(&Token::Mul);
            let columns = if p.consume_token(&Token::LParen) {
                let c = p.parse_comma_separated(|p| p.parse_identifier())?;
                p.expect_token(&Token::RParen)?;
                c
            } else {
                vec![]
            };
            let filter = if p.parse_keyword(Keyword::WHERE) {
                p.expect_token(&Token::LParen)?;
                let e = p.parse_expr()?;
                p.expect_token(&Token::RParen)?;
                Some(Box::new(e))
            } else {
                None
            };
            Ok(PublicationObject::Table {
                keyword,
                only,
                name,
                star,
                columns,
                filter,
            })
        })
    }
}

// actgate patch: pg_alter_sequence
impl Parser<'_> {
    /// `ALTER SEQUENCE …` after `SEQUENCE`.
    pub(crate) fn parse_alter_sequence(&mut self) -> Result<Statement, ParserError> {
        let if_exists = self.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = self.parse_object_name(false)?;
        let operation = if self.parse_keywords(&[Keyword::SET, Keyword::LOGGED]) {
            AlterSequenceOperation::SetLogged(true)
        } else if self.parse_keywords(&[Keyword::SET, Keyword::UNLOGGED]) {
            AlterSequenceOperation::SetLogged(false)
        } else if self.peek_keyword(Keyword::RENAME)
            || self.peek_keyword(Keyword::OWNER)
            || self.peek_keywords(&[Keyword::SET, Keyword::SCHEMA])
        {
            AlterSequenceOperation::Common(self.parse_pg_object_common()?)
        } else {
            let mut options = self.parse_sequence_options(true)?;
            let mut restart = None;
            let mut restart_with = false;
            if self.parse_keyword(Keyword::RESTART) {
                let with = self.parse_keyword(Keyword::WITH);
                restart_with = with;
                let value = if with
                    || matches!(self.peek_token_ref().token, Token::Number(..) | Token::Minus)
                {
                    Some(self.parse_number()?)
                } else {
                    None
                };
                restart = Some(value);
                // Options may follow RESTART too.
                options.extend(self.parse_sequence_options(true)?);
            }
            if options.is_empty() && restart.is_none() {
                return self.expected_ref("a sequence option", self.peek_token_ref());
            }
            AlterSequenceOperation::Options {
                options,
                restart,
                restart_with,
            }
        };
        Ok(Statement::AlterSequence(AlterSequence {
            if_exists,
            name,
            operation,
        }))
    }
}

// actgate patch: pg_alter_table
impl Parser<'_> {
    /// PostgreSQL's `ALTER TABLE` actions sqlparser has no other reading of;
    /// `None` (nothing consumed) for the others.
    pub(crate) fn parse_pg_alter_table_operation(
        &mut self,
    ) -> Result<Option<AlterTableOperation>, ParserError> {
        Ok(Some(if self.parse_keywords(&[Keyword::ALTER, Keyword::CONSTRAINT]) {
            let name = self.parse_identifier()?;
            match self.parse_constraint_characteristics()? {
                Some(characteristics) => AlterTableOperation::AlterConstraint {
                    name,
                    characteristics,
                },
                None => return self.expected_ref("constraint characteristics", self.peek_token_ref()),
            }
        } else if self.parse_keywords(&[Keyword::CLUSTER, Keyword::ON]) {
            AlterTableOperation::ClusterOn {
                index: self.parse_object_name(false)?,
            }
        } else if self.parse_keywords(&[Keyword::SET, Keyword::WITHOUT, Keyword::CLUSTER]) {
            AlterTableOperation::SetWithoutCluster
        } else if self.peek_keywords(&[Keyword::SET, Keyword::WITHOUT]) {
            self.expect_keywords(&[Keyword::SET, Keyword::WITHOUT])?;
            if !self.parse_pg_word("OIDS") {
                return self.expected_ref("CLUSTER or OIDS", self.peek_token_ref());
            }
            AlterTableOperation::SetWithoutOids
        } else if self.parse_keywords(&[Keyword::SET, Keyword::SCHEMA]) {
            AlterTableOperation::SetSchema {
                schema: self.parse_identifier()?,
            }
        } else if self.parse_keywords(&[Keyword::SET, Keyword::ACCESS, Keyword::METHOD]) {
            AlterTableOperation::SetAccessMethod {
                method: self.parse_identifier()?,
            }
        } else if self.parse_keywords(&[Keyword::SET, Keyword::TABLESPACE]) {
            AlterTableOperation::SetTablespace {
                tablespace: self.parse_identifier()?,
            }
        } else if self.parse_keyword(Keyword::OF) {
            AlterTableOperation::OfType {
                type_name: self.parse_object_name(false)?,
            }
        } else if self.parse_keywords(&[Keyword::NOT, Keyword::OF]) {
            AlterTableOperation::NotOf
        } else {
            return Ok(None);
        }))
    }
}
