"""Questions asked per order position (at checkout or at check-in) and the options of choice questions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.copying import CopyContext, register_copier
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models.core import Event
from boxoffice.kernel.models.items import Item

# Answer types by their pretix codes.
QUESTION_TYPES = ("N", "S", "T", "B", "C", "M", "F", "D", "H", "W", "CC", "TEL")
CHOICE_TYPES = frozenset({"C", "M"})

question_items = Table(
    "question_items",
    Base.metadata,
    Column("question_id", ForeignKey("question.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Question(Base):
    __tablename__ = "question"
    __table_args__ = (UniqueConstraint("event_id", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    question: Mapped[dict[str, str]] = mapped_column(JSON)
    help_text: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    type: Mapped[str] = mapped_column(String(5))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    identifier: Mapped[str] = mapped_column(String(190))
    ask_during_checkin: Mapped[bool] = mapped_column(Boolean, default=False)
    show_during_checkin: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    print_on_invoice: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_number_min: Mapped[Decimal | None] = mapped_column(Numeric(16, 6), nullable=True)
    valid_number_max: Mapped[Decimal | None] = mapped_column(Numeric(16, 6), nullable=True)
    valid_date_min: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_date_max: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_datetime_min: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_datetime_max: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_file_portrait: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_string_length_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Shown only when the answer to another question is one of ``dependency_values``; losing that question
    # makes this one unconditional again.
    dependency_question_id: Mapped[int | None] = mapped_column(
        ForeignKey("question.id", ondelete="SET NULL"), nullable=True, index=True
    )
    dependency_values: Mapped[list[str]] = mapped_column(JSON, default=list)

    event: Mapped[Event] = relationship()
    items: Mapped[list[Item]] = relationship(secondary=question_items, order_by=Item.id)
    options: Mapped[list[QuestionOption]] = relationship(
        back_populates="question",
        cascade="all, delete-orphan",
        order_by="(QuestionOption.position, QuestionOption.id)",
    )


class QuestionOption(Base):
    __tablename__ = "question_option"
    __table_args__ = (UniqueConstraint("question_id", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    identifier: Mapped[str] = mapped_column(String(190))
    answer: Mapped[dict[str, str]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)

    question: Mapped[Question] = relationship(back_populates="options")

    @property
    def event(self) -> Event:
        """Options belong to the question's event (the audit log derives organizer and event from it)."""
        return self.question.event


# The question's own columns (not its id, event, items or dependency): copied on clone, written by the API.
QUESTION_FIELDS = (
    "question",
    "help_text",
    "type",
    "required",
    "position",
    "identifier",
    "ask_during_checkin",
    "show_during_checkin",
    "hidden",
    "print_on_invoice",
    "valid_number_min",
    "valid_number_max",
    "valid_date_min",
    "valid_date_max",
    "valid_datetime_min",
    "valid_datetime_max",
    "valid_file_portrait",
    "valid_string_length_max",
    "dependency_values",
)


@register_copier(50, "questions")
def copy_questions(context: CopyContext) -> None:
    """Copy questions with their items; dependencies are re-pointed once every question has its copy."""
    session = context.session
    sources = list(session.scalars(select(Question).where(Question.event_id == context.source.id)))
    item_map = context.ids["item"]
    copies: list[tuple[Question, Question]] = []
    for old in sources:
        new = Question(event_id=context.target.id, **{name: getattr(old, name) for name in QUESTION_FIELDS})
        new.dependency_values = list(old.dependency_values or [])
        session.add(new)
        copies.append((old, new))
    session.flush()
    links = []
    for old, new in copies:
        context.ids["question"][old.id] = new.id
        links += [{"question_id": new.id, "item_id": item_map[item.id]} for item in old.items if item.id in item_map]
    if links:
        session.execute(insert(question_items), links)
    for old, new in copies:
        if old.dependency_question_id is not None:
            new.dependency_question_id = context.ids["question"].get(old.dependency_question_id)


@register_copier(55, "question options")
def copy_question_options(context: CopyContext) -> None:
    session = context.session
    question_map = context.ids["question"]
    if not question_map:
        return
    for old in session.scalars(
        select(QuestionOption).where(QuestionOption.question_id.in_(list(question_map))).order_by(QuestionOption.id)
    ):
        new = QuestionOption(
            question_id=question_map[old.question_id],
            identifier=old.identifier,
            answer=dict(old.answer or {}),
            position=old.position,
        )
        session.add(new)
        session.flush()
        context.ids["question_option"][old.id] = new.id
