// The review in words: each hunk as the user decided it (undecided stays undecided), and the note
// that Apply and Pull Request show: undecided hunks count as accepted.
import * as assert from 'node:assert/strict';
import { describeCounts, describeDecision, undecidedNote } from '../../../src/review/reviewState';

describe('extension: review wording', () => {
  it('shows undecided hunks as undecided', () => {
    assert.equal(describeCounts({ total: 1, accepted: 0, rejected: 0, undecided: 1 }), '1 hunk, undecided');
    assert.equal(describeCounts({ total: 2, accepted: 0, rejected: 0, undecided: 2 }), '2 hunks, all undecided');
    assert.equal(describeCounts({ total: 2, accepted: 1, rejected: 0, undecided: 1 }), '2 hunks: 1 accepted, 1 undecided');
  });

  it('names every kind of decision there is', () => {
    assert.equal(describeCounts({ total: 2, accepted: 1, rejected: 1, undecided: 0 }), '2 hunks: 1 accepted, 1 rejected');
    assert.equal(describeCounts({ total: 3, accepted: 1, rejected: 1, undecided: 1 }), '3 hunks: 1 accepted, 1 rejected, 1 undecided');
  });

  it('says when everything is rejected', () => {
    assert.equal(describeCounts({ total: 2, accepted: 0, rejected: 2, undecided: 0 }), '2 hunks, all rejected');
    assert.equal(describeCounts({ total: 1, accepted: 0, rejected: 1, undecided: 0 }), '1 hunk, rejected');
  });

  it('labels an undecided hunk as undecided, and says what undecided means where it is taken', () => {
    assert.equal(describeDecision('undecided'), 'undecided (taken unless rejected)');
    assert.equal(describeDecision('rejected'), 'rejected');
    assert.equal(undecidedNote({ total: 3, accepted: 1, rejected: 0, undecided: 2 }), '2 undecided hunks count as accepted.');
    assert.equal(undecidedNote({ total: 1, accepted: 1, rejected: 0, undecided: 0 }), '');
  });
});
